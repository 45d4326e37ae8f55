"""Tests of the public data parsers against the real published files.

The files are not in the repository. Set ``MYNA_SHARED_DATA`` to the
folder that contains ``hospitals/`` and ``drugs/``, otherwise these tests skip.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.public_data import (
    DRUG_FILE,
    HOSPITAL_CREDIT,
    HOSPITAL_FILE,
    DrugRecord,
    HospitalRecord,
    find_drugs,
    hospital_code,
    in_hokkaido,
    load_drugs,
    load_hospitals,
    municipality_of,
    parse_japanese_date,
    public_data_dir,
    split_departments,
)

DATA_DIR = public_data_dir()
HOSPITAL_PATH = DATA_DIR / HOSPITAL_FILE
DRUG_PATH = DATA_DIR / DRUG_FILE
CITY_CODE_PATH = DATA_DIR / "admin" / "jp_local_gov_citycode.csv"

requires_hospital_file = pytest.mark.skipif(
    not HOSPITAL_PATH.exists(), reason=f"hospital list not found at {HOSPITAL_PATH}; set MYNA_SHARED_DATA"
)
requires_drug_file = pytest.mark.skipif(
    not DRUG_PATH.exists(), reason=f"drug price list not found at {DRUG_PATH}; set MYNA_SHARED_DATA"
)


@pytest.fixture(scope="module")
def hospitals() -> list[HospitalRecord]:
    return load_hospitals(HOSPITAL_PATH)


@pytest.fixture(scope="module")
def hospitals_by_code(hospitals: list[HospitalRecord]) -> dict[str, HospitalRecord]:
    return {hospital.code: hospital for hospital in hospitals}


@pytest.fixture(scope="module")
def drugs() -> list[DrugRecord]:
    return load_drugs(DRUG_PATH)


@pytest.fixture(scope="module")
def drugs_by_code(drugs: list[DrugRecord]) -> dict[str, DrugRecord]:
    return {drug.code: drug for drug in drugs}


# ---------------------------------------------------------------------------
# Japanese era dates (no file needed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S22.4.1", date(1947, 4, 1)),
        ("H9.11.25", date(1997, 11, 25)),
        ("昭36.1.15", date(1961, 1, 15)),
        ("平15.1.10", date(2003, 1, 10)),
        ("平元.7.12", date(1989, 7, 12)),
        ("大4.11.6", date(1915, 11, 6)),
        ("T14.4.1", date(1925, 4, 1)),
        ("平10.３.19", date(1998, 3, 19)),
        ("平２６．３．２０", date(2014, 3, 20)),
        ("平15,6,27", date(2003, 6, 27)),
        ("平\n16.7.22", date(2004, 7, 22)),
        ("平14. 7.30", date(2002, 7, 30)),
        ("平H27.8.1", date(2015, 8, 1)),
        ("令7.5.1", date(2025, 5, 1)),
    ],
)
def test_parse_japanese_date_variants(text: str, expected: date) -> None:
    assert parse_japanese_date(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "昭5.10\u3000\u3000"])
def test_parse_japanese_date_without_day(text: str) -> None:
    assert parse_japanese_date(text) is None


@pytest.mark.parametrize("text", ["15.1.10", "平成", "平S27.8.1", "X1.2.3", "平15.13.1", "平15.2.30"])
def test_parse_japanese_date_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_japanese_date(text)


def _to_full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))


@given(st.dates(min_value=date(1989, 1, 8), max_value=date(2019, 4, 30)), st.booleans(), st.booleans())
def test_parse_japanese_date_heisei_round_trip(day: date, kanji_era: bool, full_width: bool) -> None:
    era_year = day.year - 1988
    year_text = "元" if era_year == 1 and kanji_era else str(era_year)
    text = f"{'平' if kanji_era else 'H'}{year_text}.{day.month}.{day.day}"
    if full_width:
        text = _to_full_width(text)

    assert parse_japanese_date(text) == day


# ---------------------------------------------------------------------------
# Departments, municipalities and codes (no file needed)


def test_split_departments_separators() -> None:
    departments = split_departments("内|外|病理診断科，救急科|")

    assert departments == ("内", "外", "病理診断科", "救急科")


def test_split_departments_bracket_groups() -> None:
    departments = split_departments("内|「糖尿病|内分泌内科」|リハ（整形)|  リハ|老年内科\n")

    assert departments == ("内", "糖尿病・内分泌内科", "リハ（整形)", "リハ", "老年内科")


def test_split_departments_empty_cell() -> None:
    assert split_departments("") == ()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("函館市川原町18番16号", "函館市"),
        ("札幌市中央区北1条西6丁目", "札幌市中央区"),
        ("亀田郡七飯町本町７丁目657番5号", "亀田郡七飯町"),
        ("余市郡余市町黒川町19丁目1番地1", "余市郡余市町"),
        ("宗谷郡猿払村鬼志別北町", "宗谷郡猿払村"),
        ("北海道札幌市北区新琴似６条１７丁目７−１０", "札幌市北区"),
        ("", None),
    ],
)
def test_municipality_of_addresses(address: str, expected: str | None) -> None:
    assert municipality_of(address) == expected


def test_hospital_code_format() -> None:
    assert hospital_code("1") == "HKD0001"
    assert hospital_code("613") == "HKD0613"


@pytest.mark.parametrize("source_id", ["", "12a", "１２"])
def test_hospital_code_rejects(source_id: str) -> None:
    with pytest.raises(ValueError):
        hospital_code(source_id)


# ---------------------------------------------------------------------------
# Hospital list


@requires_hospital_file
def test_hospital_counts(hospitals: list[HospitalRecord]) -> None:
    assert len(hospitals) == 574
    assert sum(hospital.emergency_designated for hospital in hospitals) == 249


@requires_hospital_file
def test_hospital_codes_unique_and_stable(hospitals: list[HospitalRecord]) -> None:
    codes = [hospital.code for hospital in hospitals]

    assert len(set(codes)) == len(codes)
    assert all(code.startswith("HKD") and len(code) == 7 for code in codes)
    assert [hospital.code for hospital in load_hospitals(HOSPITAL_PATH)] == codes


@requires_hospital_file
def test_hospital_first_row(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    hospital = hospitals_by_code["HKD0001"]

    assert hospital.name == "独立行政法人国立病院機構函館病院"
    assert hospital.address == "函館市川原町18番16号"
    assert hospital.latitude == pytest.approx(41.7891094)
    assert hospital.longitude == pytest.approx(140.7735373)  # from the misspelt longtitude column
    assert hospital.emergency_designated is True
    assert hospital.beds == 310
    assert hospital.departments[:3] == ("内", "神内", "小")
    assert hospital.opened_on == date(1947, 4, 1)


@requires_hospital_file
def test_hospital_quoted_newline_date(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    hospital = hospitals_by_code["HKD0062"]

    assert hospital.name == "札幌循環器病院"
    assert hospital.permitted_on == date(2004, 7, 22)
    assert hospital.opened_on == date(2004, 8, 23)
    assert hospital.departments == ("内", "消化器内科", "循環器内科")


@requires_hospital_file
def test_hospital_full_width_digit_dates(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    hospital = hospitals_by_code["HKD0602"]

    assert hospital.name == "江村精神科内科病院"
    assert hospital.permitted_on == date(2014, 3, 20)
    assert hospital.opened_on == date(2014, 4, 1)


@requires_hospital_file
def test_hospital_comma_and_doubled_era_dates(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    assert hospitals_by_code["HKD0033"].permitted_on == date(2003, 6, 27)
    assert hospitals_by_code["HKD0129"].opened_on == date(2015, 8, 1)
    assert hospitals_by_code["HKD0173"].permitted_on == date(1989, 7, 12)


@requires_hospital_file
def test_hospital_date_without_day(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    assert hospitals_by_code["HKD0233"].permitted_on is None


@requires_hospital_file
def test_hospital_full_width_comma_departments(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    departments = hospitals_by_code["HKD0002"].departments

    assert "病理診断科" in departments
    assert "救急科" in departments
    assert not any("，" in department for department in departments)


@requires_hospital_file
def test_hospital_bracketed_department(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    assert "糖尿病・内分泌内科" in hospitals_by_code["HKD0057"].departments


@requires_hospital_file
def test_hospital_departments_clean(hospitals: list[HospitalRecord]) -> None:
    for hospital in hospitals:
        for department in hospital.departments:
            assert department, hospital.code
            assert department == department.strip(), (hospital.code, department)
            assert "|" not in department, (hospital.code, department)
            assert "，" not in department, (hospital.code, department)


@requires_hospital_file
def test_hospital_name_trailing_ideographic_space(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    assert hospitals_by_code["HKD0126"].name == "医療法人啓生会病院"
    assert hospitals_by_code["HKD0236"].name == "医療法人社団静和会\u3000平和病院"


@requires_hospital_file
def test_hospital_names_stripped(hospitals: list[HospitalRecord]) -> None:
    assert all(hospital.name == hospital.name.strip() for hospital in hospitals)


@requires_hospital_file
def test_hospital_question_mark_address_kept(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    assert hospitals_by_code["HKD0081"].address == "札幌市中央区南21条西9丁目2?11"
    assert hospitals_by_code["HKD0258"].address == "札幌市手稲区金山1条1丁目240?6"


@requires_hospital_file
def test_hospital_coordinates_in_hokkaido(hospitals: list[HospitalRecord]) -> None:
    located = [hospital for hospital in hospitals if hospital.latitude is not None]

    assert len(located) == 573
    for hospital in located:
        assert in_hokkaido(hospital.latitude, hospital.longitude), hospital.code


@requires_hospital_file
def test_hospital_geocoded_outside_hokkaido_dropped(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    hospital = hospitals_by_code["HKD0478"]

    assert hospital.name == "北の峰病院"
    assert hospital.latitude is None
    assert hospital.longitude is None


@requires_hospital_file
def test_hospital_beds_from_categories(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    # sickbed_num is empty but 120 psychiatric beds are listed.
    assert hospitals_by_code["HKD0324"].beds == 120


@requires_hospital_file
def test_hospital_stroke_list_rows(hospitals_by_code: dict[str, HospitalRecord]) -> None:
    # Rows 608 to 613 come from the acute stroke care list and carry little else.
    hospital = hospitals_by_code["HKD0610"]

    assert hospital.acute_stroke_care is True
    assert hospital.address == ""
    assert hospital.departments == ()
    assert hospital.beds is None


@requires_hospital_file
@pytest.mark.skipif(not CITY_CODE_PATH.exists(), reason=f"city code list not found at {CITY_CODE_PATH}")
def test_hospital_municipalities_exist(hospitals: list[HospitalRecord]) -> None:
    with CITY_CODE_PATH.open(encoding="utf-8", newline="") as stream:
        known = {row["郡名"] + row["市区町村名"] for row in csv.DictReader(stream) if row["都道府県名"] == "北海道"}

    for hospital in hospitals:
        if not hospital.address:
            continue

        municipality = municipality_of(hospital.address)
        assert municipality is not None, hospital.address
        city = "札幌市" if municipality.startswith("札幌市") else municipality
        assert city in known, (hospital.code, hospital.address)


def test_hospital_credit_names_rights_holders() -> None:
    assert "北海道・三好邦彦" in HOSPITAL_CREDIT
    assert "CC BY 2.1 JP" in HOSPITAL_CREDIT


HOSPITAL_HEADER = (
    "id,<病院（保健所別） H27.10.1現在>,hospital_name,開設許可年月日,開設年月日,postal_num,address,"
    "開設者コード,開\u3000設\u3000者,管\u3000理\u3000者,services,emergency,phone_number,latitude,longtitude,"
    "sickbed_num,general,recuperation,psychosis,tuberculosis,infected,matanity_delivery,brain_ambulance\n"
)
HOSPITAL_ROW = "7,札幌市,テスト病院,平2.3.4,平2.4.1,060-0001,札幌市中央区北1条西1丁目,,,,内|外,○,011-000-0000,43.06,141.35,10,10,,,,,,\n"


def test_load_hospitals_rejects_shift_jis(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_bytes((HOSPITAL_HEADER + HOSPITAL_ROW).encode("cp932"))

    with pytest.raises(UnicodeDecodeError):
        load_hospitals(path)


def test_load_hospitals_accepts_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_bytes((HOSPITAL_HEADER + HOSPITAL_ROW).encode("utf-8-sig"))

    (hospital,) = load_hospitals(path)

    assert hospital.code == "HKD0007"
    assert hospital.permitted_on == date(1990, 3, 4)


def test_load_hospitals_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_text(HOSPITAL_HEADER.replace("longtitude", "longitude") + HOSPITAL_ROW, encoding="utf-8")

    with pytest.raises(ValueError, match="missing columns longtitude"):
        load_hospitals(path)


def test_load_hospitals_unknown_flag(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_text(HOSPITAL_HEADER + HOSPITAL_ROW.replace(",○,", ",有,"), encoding="utf-8")

    with pytest.raises(ValueError, match="hospital id '7'.*emergency flag"):
        load_hospitals(path)


def test_load_hospitals_duplicate_id(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_text(HOSPITAL_HEADER + HOSPITAL_ROW + HOSPITAL_ROW, encoding="utf-8")

    with pytest.raises(ValueError, match="appears twice"):
        load_hospitals(path)


# ---------------------------------------------------------------------------
# Drug price list


@requires_drug_file
def test_drug_count(drugs: list[DrugRecord]) -> None:
    assert len(drugs) == 12434


@requires_drug_file
def test_drug_codes_twelve_characters_unique(drugs: list[DrugRecord]) -> None:
    codes = [drug.code for drug in drugs]

    assert all(len(code) == 12 for code in codes)
    assert len(set(codes)) == len(codes)


@requires_drug_file
def test_drug_first_row(drugs_by_code: dict[str, DrugRecord]) -> None:
    drug = drugs_by_code["1121001X1018"]

    assert drug.name == "ブロモバレリル尿素"
    assert drug.ingredient == "ブロモバレリル尿素"
    assert drug.strength == "１ｇ"
    assert drug.price_yen == pytest.approx(7.5)
    assert drug.narcotic is False
    assert drug.category == "内用薬"


@requires_drug_file
def test_drug_warfarin_row(drugs_by_code: dict[str, DrugRecord]) -> None:
    drug = drugs_by_code["3332001F1016"]

    assert drug.name == "ワルファリンカリウム錠"
    assert drug.ingredient == "ワルファリンカリウム"
    assert drug.strength == "１ｍｇ１錠"
    assert drug.price_yen == pytest.approx(10.4)


@requires_drug_file
def test_drug_narcotic_row(drugs_by_code: dict[str, DrugRecord], drugs: list[DrugRecord]) -> None:
    drug = drugs_by_code["8112001A1018"]

    assert drug.name == "アヘン末"
    assert drug.narcotic is True
    assert drug.price_yen == pytest.approx(1118.8)
    assert sum(drug.narcotic for drug in drugs) == 177


@requires_drug_file
def test_drug_names_keep_ideographic_space(drugs_by_code: dict[str, DrugRecord], drugs: list[DrugRecord]) -> None:
    assert drugs_by_code["2492415G1031"].name == "ノボラピッド注\u3000フレックスペン"
    assert sum("\u3000" in drug.name for drug in drugs) == 257


@requires_drug_file
def test_drug_categories(drugs: list[DrugRecord]) -> None:
    categories = {drug.category for drug in drugs}

    assert categories == {"内用薬", "注射薬", "外用薬", "歯科用薬剤"}


@requires_drug_file
def test_find_drugs_excludes_combinations(drugs: list[DrugRecord]) -> None:
    single = find_drugs(drugs, "アムロジピンベシル酸塩", category="内用薬")
    with_combinations = find_drugs(drugs, "アムロジピンベシル酸塩", include_combinations=True)

    assert single
    assert all("・" not in drug.ingredient for drug in single)
    assert len(with_combinations) > len(single)


@requires_drug_file
def test_find_drugs_by_strength(drugs: list[DrugRecord]) -> None:
    matches = find_drugs(drugs, "ワルファリンカリウム", strength="１ｍｇ１錠", category="内用薬")

    assert [drug.code for drug in matches] == ["3332001F1016", "3332001F1130"]


DRUG_HEADER = (
    "区分,薬価基準収載医薬品コード,成分名,規格,日本薬局方,麻薬,業者名追記,品名,メーカー名,"
    "診療報酬において加算等の算定対象となる後発医薬品,先発医薬品,同一剤形・規格の後発医薬品がある先発医薬品,"
    "薬価,経過措置による使用期限,備考\n"
)


def test_load_drugs_strips_trailing_whitespace_only(tmp_path: Path) -> None:
    path = tmp_path / "drugs.csv"
    path.write_text(DRUG_HEADER + "内用薬,1121001X1018,成分\u3000Ａ,１ｇ,,,,品名\u3000Ａ\u3000 ,,,,,7.5,,\n", encoding="utf-8")

    (drug,) = load_drugs(path)

    assert drug.name == "品名\u3000Ａ"
    assert drug.ingredient == "成分\u3000Ａ"


def test_load_drugs_rejects_short_code(tmp_path: Path) -> None:
    path = tmp_path / "drugs.csv"
    path.write_text(DRUG_HEADER + "内用薬,1121001X101,成分,１ｇ,,,,品名,,,,,7.5,,\n", encoding="utf-8")

    with pytest.raises(ValueError, match="invalid drug code '1121001X101'"):
        load_drugs(path)


def test_load_drugs_empty_price(tmp_path: Path) -> None:
    path = tmp_path / "drugs.csv"
    path.write_text(DRUG_HEADER + "内用薬,1121001X1018,成分,１ｇ,,麻,,品名,,,,,,,\n", encoding="utf-8")

    (drug,) = load_drugs(path)

    assert drug.price_yen is None
    assert drug.narcotic is True
