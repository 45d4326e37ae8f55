"""Deterministic synthetic patients built on the real hospital and drug lists.

Every person here is made up: names are common surnames with common given names,
and insurers are fictitious (``デモ…``). Homes, visits and prescriptions use
real hospitals of the Hokkaido list and real products of the MHLW drug price
list, so hospital codes and drug codes resolve against those lists.

Patient ``i`` depends only on ``seed``, ``i``, ``today`` and the two lists, so
``generate_patients(..., count=3)`` returns the first three patients of any
longer run. The first three are fixed clinical pictures for the demo's virtual
cards:

0. an elderly person with atrial fibrillation on warfarin, an allergy and a surgery;
1. a diabetic on insulin with end-stage kidney disease on dialysis;
2. a younger person with asthma and few records.

Dates are placed with margins around the windows of the 救急用サマリー
(emergency summary): visits, claims-based drugs and dialysis within 3 months,
e-prescription dispensing within 45 days, surgery within 5 years. The normal
display covers 5 years and 100 days of e-prescriptions.
Claims-based drug data reaches the system about 1.5 months after dispensing,
so recent ``claims`` entries are 46 to 80 days old, and anything newer is an
``eprescription`` entry.
"""

from __future__ import annotations

import dataclasses
import random
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hub.public_data import DrugRecord, HospitalRecord, distance_km, find_drugs, municipality_of

# Days before ``today`` for each kind of generated date.
_CLAIMS_RECENT_DAYS = (46, 80)  # inside 3 months, older than the claims lag
_EPRESCRIPTION_RECENT_DAYS = (3, 40)  # inside the 45-day summary window
_FOLLOW_UP_DAYS = (5, 80)  # extra visits inside 3 months
_OLDER_DAYS = (150, 360)  # outside 3 months, inside 1 year
_HISTORY_START_DAYS = (400, 1700)  # when chronic treatment started, inside 5 years
_OLD_ACUTE_DAYS = (400, 1600)  # a one-off prescription 1 to 4 years ago
_SURGERY_DAYS = (200, 1600)  # inside the 5-year surgery window
_OLD_SURGERY_DAYS = (2300, 3300)  # 6 to 9 years ago, outside every window

# Home is within about 2 km of the anchor hospital.
_HOME_OFFSET_DEGREES = (0.015, 0.02)  # latitude, longitude
_NEARBY_RADIUS_KM = 30.0
_NEARBY_MINIMUM = 3

# Anchors for the first three patients need a choice of hospitals close by.
_RICH_ANCHOR_RADIUS_KM = 10.0
_RICH_ANCHOR_MIN_HOSPITALS = 5

SOURCES = ("claims", "eprescription")
RELATIONSHIPS = ("本人", "家族")
COPAY_RATIOS = (10, 20, 30)
SEXES = ("1", "2")


@dataclass
class Insurance:
    """資格情報 (health insurance qualification) of one patient.

    ``insurer_number`` is the 8-digit 保険者番号 with a valid check digit.
    ``symbol`` is empty for 後期高齢者医療, whose cards have no 記号.
    ``limit_category`` is the 限度額適用 適用区分 (``ウ``, ``現役並みⅠ``) or ``None``.
    """

    insurer_number: str
    insurer_name: str
    symbol: str
    number: str
    branch: str
    relationship: str
    copay_ratio: int
    valid_from: date
    valid_to: date | None = None
    limit_category: str | None = None

    def __post_init__(self) -> None:
        if len(self.insurer_number) != 8 or not self.insurer_number.isdigit():
            raise ValueError(f"invalid insurer_number {self.insurer_number!r}: expected 8 digits")

        if len(self.branch) != 2 or not self.branch.isdigit():
            raise ValueError(f"invalid branch {self.branch!r}: expected 2 digits")

        if self.relationship not in RELATIONSHIPS:
            raise ValueError(f"invalid relationship {self.relationship!r}: expected one of {RELATIONSHIPS}")

        if self.copay_ratio not in COPAY_RATIOS:
            raise ValueError(f"invalid copay_ratio {self.copay_ratio!r}: expected one of {COPAY_RATIOS}")


@dataclass
class Visit:
    """受診歴 entry: one visit to one hospital department on one day."""

    hospital_code: str
    hospital_name: str
    visited_on: date
    department: str


@dataclass
class Medication:
    """One dispensing of one product, from claims (薬剤情報) or the e-prescription service."""

    drug_code: str
    drug_name: str
    ingredient: str
    dispensed_on: date
    days: int
    dose: str
    hospital_code: str
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"invalid source {self.source!r}: expected one of {SOURCES}")


@dataclass
class Condition:
    """A diagnosis with its ICD-10 code and the date it was first recorded."""

    name: str
    icd10: str
    recorded_on: date


@dataclass
class Allergy:
    """A recorded allergy: the substance and the reaction it caused."""

    substance: str
    reaction: str


@dataclass
class Surgery:
    """手術情報 entry."""

    name: str
    performed_on: date
    hospital_code: str


@dataclass
class SyntheticPatient:
    """A made-up person with insurance and medical history. ``sex`` is ``"1"`` male or ``"2"`` female."""

    patient_id: str
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: date
    sex: str
    address: str
    latitude: float
    longitude: float
    insurance: Insurance
    visits: list[Visit] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    surgeries: list[Surgery] = field(default_factory=list)
    dialysis: bool = False
    last_checkup_on: date | None = None

    def __post_init__(self) -> None:
        if self.sex not in SEXES:
            raise ValueError(f"invalid sex {self.sex!r}: expected '1' (male) or '2' (female)")


# ---------------------------------------------------------------------------
# Clinical profiles


@dataclass(frozen=True)
class _DrugSpec:
    """A product to prescribe, found in the drug list by 成分名 substring, 規格 and 区分."""

    ingredient: str
    strength: str
    category: str
    dose: str
    days: int
    department: str
    # "chronic": repeated dispensings from the start of treatment until now.
    # "recent": one e-prescription inside 45 days. "old": one claims entry 1 to 4 years ago.
    pattern: str = "chronic"


@dataclass(frozen=True)
class _SurgerySpec:
    name: str
    department: str
    old: bool = False  # performed 6 to 9 years ago, outside every window


@dataclass(frozen=True)
class _Profile:
    key: str
    age_range: tuple[int, int]
    conditions: tuple[tuple[str, str], ...]
    drugs: tuple[_DrugSpec, ...]
    allergies: tuple[Allergy, ...] = ()
    surgeries: tuple[_SurgerySpec, ...] = ()
    dialysis: bool = False
    sex: str | None = None
    # Department key of the regular follow-up visits. An empty key means the first drug's department.
    follow_up_department: str = ""


_ORAL = "内用薬"
_INJECTION = "注射薬"

_ONCE_MORNING = "1回1錠 1日1回 朝食後"

_ELDERLY_AF = _Profile(
    key="elderly_af_warfarin",
    age_range=(78, 88),
    conditions=(("持続性心房細動", "I48.1"), ("高血圧症", "I10"), ("慢性心不全", "I50.9")),
    drugs=(
        _DrugSpec("ワルファリンカリウム", "１ｍｇ１錠", _ORAL, "1回2錠 1日1回 朝食後", 28, "cardiology"),
        _DrugSpec("アムロジピンベシル酸塩", "５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "cardiology"),
        _DrugSpec("フロセミド", "２０ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "cardiology"),
        _DrugSpec("ビソプロロールフマル酸塩", "２．５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "cardiology"),
        _DrugSpec("アセトアミノフェン", "２００ｍｇ１錠", _ORAL, "1回2錠 疼痛時 1日3回まで", 5, "orthopedics", "old"),
    ),
    allergies=(Allergy("ヨード造影剤", "蕁麻疹・呼吸困難"),),
    surgeries=(
        _SurgerySpec("ペースメーカー移植術", "cardiac_surgery"),
        _SurgerySpec("白内障手術（水晶体再建術）", "ophthalmology", old=True),
    ),
)

_DIABETIC_DIALYSIS = _Profile(
    key="diabetic_insulin_dialysis",
    age_range=(58, 68),
    conditions=(
        ("2型糖尿病性腎症", "E11.2"),
        ("末期腎不全", "N18.5"),
        ("腎性貧血", "D63.8"),
        ("高血圧症", "I10"),
    ),
    drugs=(
        _DrugSpec("インスリングラルギン", "３００単位１キット", _INJECTION, "1日1回 就寝前 10単位 皮下注射", 30, "diabetes"),
        _DrugSpec("インスリンアスパルト", "３００単位１キット", _INJECTION, "1日3回 毎食直前 各4単位 皮下注射", 30, "diabetes"),
        _DrugSpec("沈降炭酸カルシウム", "５００ｍｇ１錠", _ORAL, "1回2錠 1日3回 毎食直後", 28, "nephrology"),
        _DrugSpec("アムロジピンベシル酸塩", "５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "nephrology"),
        _DrugSpec("ダルベポエチンアルファ", "３０μｇ０．５ｍＬ１筒", _INJECTION, "週1回 透析時 静注", 7, "nephrology"),
    ),
    surgeries=(_SurgerySpec("内シャント設置術", "surgery"),),
    dialysis=True,
    follow_up_department="nephrology",
)

_YOUNG_ASTHMA = _Profile(
    key="young_asthma",
    age_range=(24, 36),
    conditions=(("気管支喘息", "J45.9"),),
    drugs=(
        _DrugSpec("モンテルカストナトリウム", "１０ｍｇ１錠", _ORAL, "1回1錠 1日1回 就寝前", 30, "respiratory"),
        _DrugSpec("Ｌ－カルボシステイン", "５００ｍｇ１錠", _ORAL, "1回1錠 1日3回 毎食後", 5, "internal", "recent"),
        _DrugSpec("アセトアミノフェン", "２００ｍｇ１錠", _ORAL, "1回2錠 発熱時 1日3回まで", 3, "internal", "old"),
    ),
)

# Patients from index 3 on draw one of these.
_OTHER_PROFILES = (
    _Profile(
        key="diabetic_oral",
        age_range=(50, 74),
        conditions=(("2型糖尿病", "E11.9"), ("脂質異常症", "E78.5")),
        drugs=(
            _DrugSpec("メトホルミン塩酸塩", "２５０ｍｇ１錠", _ORAL, "1回1錠 1日2回 朝夕食後", 28, "diabetes"),
            _DrugSpec("シタグリプチンリン酸塩水和物", "５０ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "diabetes"),
            _DrugSpec("アトルバスタチンカルシウム水和物", "１０ｍｇ１錠", _ORAL, "1回1錠 1日1回 夕食後", 28, "diabetes"),
        ),
    ),
    _Profile(
        key="rheumatoid_steroid",
        age_range=(45, 80),
        conditions=(("関節リウマチ", "M06.9"), ("ステロイド性骨粗鬆症", "M81.4")),
        drugs=(
            _DrugSpec("プレドニゾロン", "５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "rheumatology"),
            _DrugSpec("メトトレキサート", "２ｍｇ１カプセル", _ORAL, "週1回 1回2カプセル 朝夕食後（月曜日）", 28, "rheumatology"),
            _DrugSpec("葉酸", "５ｍｇ１錠", _ORAL, "週1回 1回1錠 朝食後（水曜日）", 28, "rheumatology"),
            _DrugSpec("ランソプラゾール", "１５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "rheumatology"),
            _DrugSpec("アレンドロン酸ナトリウム水和物", "３５ｍｇ１錠", _ORAL, "週1回 1回1錠 起床時", 28, "rheumatology"),
        ),
        allergies=(Allergy("ペニシリン系抗菌薬", "全身の発疹"),),
    ),
    _Profile(
        key="stroke_antiplatelet",
        age_range=(65, 88),
        conditions=(("脳梗塞後遺症", "I69.3"), ("高血圧症", "I10"), ("脂質異常症", "E78.5")),
        drugs=(
            _DrugSpec("クロピドグレル硫酸塩", "７５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "neurology"),
            _DrugSpec("テルミサルタン", "４０ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "neurology"),
            _DrugSpec("ロスバスタチンカルシウム", "２．５ｍｇ１錠", _ORAL, "1回1錠 1日1回 夕食後", 28, "neurology"),
        ),
    ),
    _Profile(
        key="af_doac",
        age_range=(70, 90),
        conditions=(("発作性心房細動", "I48.0"), ("高血圧症", "I10")),
        drugs=(
            _DrugSpec("アピキサバン", "５ｍｇ１錠", _ORAL, "1回1錠 1日2回 朝夕食後", 28, "cardiology"),
            _DrugSpec("ビソプロロールフマル酸塩", "２．５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "cardiology"),
            _DrugSpec("カンデサルタンシレキセチル", "８ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "cardiology"),
        ),
        surgeries=(_SurgerySpec("人工膝関節置換術", "orthopedics"),),
    ),
    _Profile(
        key="hypertension",
        age_range=(45, 80),
        conditions=(("高血圧症", "I10"), ("脂質異常症", "E78.5")),
        drugs=(
            _DrugSpec("アムロジピンベシル酸塩", "５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "internal"),
            _DrugSpec("カンデサルタンシレキセチル", "８ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "internal"),
            _DrugSpec("ロスバスタチンカルシウム", "２．５ｍｇ１錠", _ORAL, "1回1錠 1日1回 夕食後", 28, "internal"),
            _DrugSpec("ロキソプロフェンナトリウム水和物", "６０ｍｇ１錠", _ORAL, "1回1錠 1日3回 毎食後", 7, "orthopedics", "old"),
            _DrugSpec("レバミピド", "１００ｍｇ１錠", _ORAL, "1回1錠 1日3回 毎食後", 7, "orthopedics", "old"),
        ),
    ),
    _Profile(
        key="dementia",
        age_range=(80, 95),
        conditions=(("アルツハイマー型認知症", "G30.9"), ("不眠症", "G47.0"), ("便秘症", "K59.0")),
        drugs=(
            _DrugSpec("ドネペジル塩酸塩", "５ｍｇ１錠", _ORAL, _ONCE_MORNING, 28, "neurology"),
            _DrugSpec("ラメルテオン", "８ｍｇ１錠", _ORAL, "1回1錠 1日1回 就寝前", 28, "neurology"),
            _DrugSpec("酸化マグネシウム", "３３０ｍｇ１錠", _ORAL, "1回1錠 1日3回 毎食後", 28, "internal"),
        ),
        surgeries=(_SurgerySpec("人工骨頭挿入術（股関節）", "orthopedics"),),
    ),
    _Profile(
        key="acute_only",
        age_range=(20, 60),
        conditions=(("急性上気道炎", "J06.9"),),
        drugs=(
            _DrugSpec("Ｌ－カルボシステイン", "５００ｍｇ１錠", _ORAL, "1回1錠 1日3回 毎食後", 5, "internal", "recent"),
            _DrugSpec("アセトアミノフェン", "２００ｍｇ１錠", _ORAL, "1回2錠 発熱時 1日3回まで", 3, "internal", "recent"),
        ),
    ),
)

_FIXED_PROFILES = (_ELDERLY_AF, _DIABETIC_DIALYSIS, _YOUNG_ASTHMA)
_ALL_PROFILES = _FIXED_PROFILES + _OTHER_PROFILES

_EXTRA_ALLERGIES = (
    Allergy("ペニシリン系抗菌薬", "発疹"),
    Allergy("そば", "アナフィラキシー"),
    Allergy("卵", "蕁麻疹"),
    Allergy("セフェム系抗菌薬", "発疹"),
)

# Department names as the hospital list writes them, most specific first. A
# profile's department key is looked up here, then falls back along
# _DEPARTMENT_FALLBACK until a nearby hospital offers one of the names.
_DEPARTMENT_NAMES = {
    "internal": ("内", "内科"),
    "cardiology": ("循環器内科", "循環器科", "循内", "循", "心臓内科"),
    "cardiac_surgery": ("心臓血管外科", "心外", "心臓外科"),
    "diabetes": ("糖尿病・内分泌内科", "糖尿病内分泌内科", "糖尿病内科", "糖尿病・代謝内科", "代謝内科"),
    "nephrology": ("人工透析内科", "腎臓内科（人工透析）", "透内", "人透", "腎臓内科"),
    "respiratory": ("呼吸器内科", "呼", "アレ"),
    "rheumatology": ("リウ", "リウマチ科"),
    "neurology": ("神内", "脳神経内科", "神経内科", "脳"),
    "orthopedics": ("整", "整形外科"),
    "surgery": ("外", "外科"),
    "ophthalmology": ("眼", "眼科"),
}
_DEPARTMENT_FALLBACK = {
    "cardiac_surgery": "cardiology",
    "cardiology": "internal",
    "diabetes": "internal",
    "nephrology": "internal",
    "respiratory": "internal",
    "rheumatology": "orthopedics",
    "neurology": "internal",
    "orthopedics": "surgery",
    "ophthalmology": "surgery",
    "surgery": "internal",
}

# Display names for the abbreviations in the hospital list, used as the visit's
# department. NOTE: the machine-readable list ships no legend, so these are the
# usual meanings of the abbreviations in Japanese hospital directories.
_DEPARTMENT_LABELS = {
    "内": "内科",
    "外": "外科",
    "整": "整形外科",
    "眼": "眼科",
    "循": "循環器科",
    "循内": "循環器内科",
    "呼": "呼吸器科",
    "アレ": "アレルギー科",
    "心外": "心臓血管外科",
    "神内": "神経内科",
    "脳": "脳神経外科",
    "リウ": "リウマチ科",
    "透内": "人工透析内科",
    "人透": "人工透析内科",
}

_SURNAMES = (
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
)

# Given names by birth cohort, keyed by sex code.
_GIVEN_NAMES_BORN_BEFORE_1955 = {
    "1": (("茂", "シゲル"), ("勇", "イサム"), ("博", "ヒロシ"), ("清", "キヨシ"), ("正雄", "マサオ")),
    "2": (("和子", "カズコ"), ("幸子", "サチコ"), ("節子", "セツコ"), ("洋子", "ヨウコ"), ("恵子", "ケイコ")),
}
_GIVEN_NAMES_BORN_BEFORE_1985 = {
    "1": (("健一", "ケンイチ"), ("誠", "マコト"), ("浩二", "コウジ"), ("隆", "タカシ"), ("大輔", "ダイスケ")),
    "2": (("直美", "ナオミ"), ("由美子", "ユミコ"), ("真由美", "マユミ"), ("智子", "トモコ"), ("裕子", "ユウコ")),
}
_GIVEN_NAMES_BORN_LATER = {
    "1": (("翔太", "ショウタ"), ("大輝", "ダイキ"), ("拓也", "タクヤ"), ("健太", "ケンタ"), ("蓮", "レン")),
    "2": (("美咲", "ミサキ"), ("彩", "アヤ"), ("愛", "アイ"), ("七海", "ナナミ"), ("陽菜", "ヒナ")),
}


@dataclass(frozen=True)
class _Insurer:
    name: str
    law_code: str  # 法別番号
    prefecture_code: str
    insurer_serial: str  # 保険者別番号, 3 digits

    @property
    def number(self) -> str:
        body = self.law_code + self.prefecture_code + self.insurer_serial
        return body + insurer_number_check_digit(body)


# Fictitious insurers. The numbers use the 9xx serial range and carry valid
# check digits, but no real insurer is meant.
_LATE_ELDERLY_INSURER = _Insurer("デモ後期高齢者医療広域連合", "39", "01", "901")
_EMPLOYEE_INSURERS = (
    _Insurer("デモ商事健康保険組合", "06", "01", "911"),
    _Insurer("デモ電機健康保険組合", "06", "01", "923"),
)

_LIMIT_CATEGORIES_UNDER_70 = ("ア", "イ", "ウ", "エ", "オ")


# ---------------------------------------------------------------------------
# Generation


def generate_patients(
    hospitals: list[HospitalRecord],
    drugs: list[DrugRecord],
    count: int,
    seed: int,
    today: date,
) -> list[SyntheticPatient]:
    """Generate ``count`` synthetic patients, the same ones for the same arguments.

    Raises ``LookupError`` when the drug list lacks a product that a profile
    needs, and ``ValueError`` when no hospital has coordinates and an address.
    """
    if count < 0:
        raise ValueError(f"invalid count {count}: expected 0 or more")

    products = _resolve_products(drugs)
    candidates = _anchor_candidates(hospitals)
    if not candidates:
        raise ValueError(
            "no hospital has coordinates, a parseable address and departments, so no home can be placed. "
            "Pass the full hospital list."
        )

    rich_candidates = _rich_anchor_candidates(candidates) or candidates

    patients = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        profile = _profile_for(index, rng)
        anchors = rich_candidates if index < len(_FIXED_PROFILES) else candidates
        context = _PatientContext(rng=rng, today=today, profile=profile, products=products, hospitals=candidates)
        patients.append(_build_patient(context, index, seed, anchors))

    return patients


@dataclass
class _PatientContext:
    rng: random.Random
    today: date
    profile: _Profile
    products: dict[_DrugSpec, list[DrugRecord]]
    hospitals: list[HospitalRecord]
    nearby: list[HospitalRecord] = field(default_factory=list)
    home: tuple[float, float] = (0.0, 0.0)

    def days_ago(self, bounds: tuple[int, int]) -> date:
        return self.today - timedelta(days=self.rng.randint(*bounds))


def _profile_for(index: int, rng: random.Random) -> _Profile:
    if index < len(_FIXED_PROFILES):
        return _FIXED_PROFILES[index]

    return rng.choice(_OTHER_PROFILES)


def _build_patient(context: _PatientContext, index: int, seed: int, anchors: list[HospitalRecord]) -> SyntheticPatient:
    rng = context.rng
    profile = context.profile

    sex = profile.sex or rng.choice(SEXES)
    birth_date = _birth_date(context)
    family_name, family_kana = rng.choice(_SURNAMES)
    given_name, given_kana = rng.choice(_given_names(birth_date, sex))

    anchor = rng.choice(anchors)
    context.home = _home_coordinates(anchor, rng)
    context.nearby = _nearby_hospitals(context.hospitals, *context.home)

    history = _history(context)

    return SyntheticPatient(
        patient_id=f"demo-{seed}-{index:04d}",
        family_name=family_name,
        given_name=given_name,
        family_kana=family_kana,
        given_kana=given_kana,
        birth_date=birth_date,
        sex=sex,
        address=_home_address(anchor, rng),
        latitude=context.home[0],
        longitude=context.home[1],
        insurance=_insurance(context, birth_date, index),
        visits=history.sorted_visits(),
        medications=history.medications,
        conditions=_conditions(context, history),
        allergies=_allergies(context, index),
        surgeries=history.surgeries,
        dialysis=profile.dialysis,
        last_checkup_on=_last_checkup(context, birth_date, index),
    )


def _birth_date(context: _PatientContext) -> date:
    age = context.rng.randint(*context.profile.age_range)
    day_in_year = context.rng.randint(1, 364)
    return _shift_years(context.today, -age) - timedelta(days=day_in_year)


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _age_on(birth_date: date, day: date) -> int:
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def _given_names(birth_date: date, sex: str) -> tuple[tuple[str, str], ...]:
    if birth_date.year < 1955:
        return _GIVEN_NAMES_BORN_BEFORE_1955[sex]

    if birth_date.year < 1985:
        return _GIVEN_NAMES_BORN_BEFORE_1985[sex]

    return _GIVEN_NAMES_BORN_LATER[sex]


# Hospitals and places


def _anchor_candidates(hospitals: Sequence[HospitalRecord]) -> list[HospitalRecord]:
    usable = [
        hospital
        for hospital in hospitals
        if hospital.latitude is not None
        and hospital.longitude is not None
        and hospital.departments
        and municipality_of(hospital.address) is not None
    ]
    return sorted(usable, key=lambda hospital: hospital.code)


def _rich_anchor_candidates(candidates: list[HospitalRecord]) -> list[HospitalRecord]:
    rich = []
    for anchor in candidates:
        close = [
            other
            for other in candidates
            if _distance_to(other, anchor.latitude, anchor.longitude) <= _RICH_ANCHOR_RADIUS_KM
        ]
        if len(close) >= _RICH_ANCHOR_MIN_HOSPITALS and any(other.emergency_designated for other in close):
            rich.append(anchor)

    return rich


def _distance_to(hospital: HospitalRecord, latitude: float | None, longitude: float | None) -> float:
    assert hospital.latitude is not None and hospital.longitude is not None
    assert latitude is not None and longitude is not None
    return distance_km(hospital.latitude, hospital.longitude, latitude, longitude)


def _nearby_hospitals(hospitals: list[HospitalRecord], latitude: float, longitude: float) -> list[HospitalRecord]:
    return sorted(hospitals, key=lambda hospital: (_distance_to(hospital, latitude, longitude), hospital.code))


def _home_coordinates(anchor: HospitalRecord, rng: random.Random) -> tuple[float, float]:
    assert anchor.latitude is not None and anchor.longitude is not None
    latitude = anchor.latitude + rng.uniform(-_HOME_OFFSET_DEGREES[0], _HOME_OFFSET_DEGREES[0])
    longitude = anchor.longitude + rng.uniform(-_HOME_OFFSET_DEGREES[1], _HOME_OFFSET_DEGREES[1])
    return round(latitude, 6), round(longitude, 6)


def _home_address(anchor: HospitalRecord, rng: random.Random) -> str:
    """Make an address in the anchor hospital's municipality and district with made-up block numbers."""
    municipality = municipality_of(anchor.address)
    assert municipality is not None  # _anchor_candidates keeps only parseable addresses

    text = anchor.address.strip().removeprefix("北海道")
    district = "".join(_district_name(text[len(municipality):]).split())
    block = rng.randint(1, 30)
    lot = rng.randint(1, 20)

    # Rural 字 areas and addresses without a district use 番地 numbering.
    if district and not district.startswith("字"):
        return f"{municipality}{district}{block}番{lot}号"

    return f"{municipality}{district}{rng.randint(1, 999)}番地{lot}"


def _district_name(rest: str) -> str:
    """Return the district part after the municipality: up to 丁目 if present, else the text before the first digit."""
    if "丁目" in rest:
        return rest[: rest.index("丁目") + len("丁目")]

    for position, char in enumerate(rest):
        if char.isdigit():
            return rest[:position]

    return rest


def _hospital_for(context: _PatientContext, department_key: str, emergency: bool = False) -> tuple[HospitalRecord, str]:
    """Return the nearest suitable hospital and the department label for a department key.

    Hospitals within the nearby radius are searched first for the key and its
    fallbacks. When none fits, the search widens to every hospital.
    """
    within = [
        hospital
        for index, hospital in enumerate(context.nearby)
        if index < _NEARBY_MINIMUM or _distance_to(hospital, *context.home) <= _NEARBY_RADIUS_KM
    ]

    for pool in (within, context.nearby):
        key: str | None = department_key
        while key is not None:
            found = _first_with_department(pool, _DEPARTMENT_NAMES[key], emergency)
            if found is not None:
                return found

            key = _DEPARTMENT_FALLBACK.get(key)

    raise ValueError(f"no hospital offers department {department_key!r} or its fallbacks")


def _first_with_department(
    hospitals: list[HospitalRecord], names: tuple[str, ...], emergency: bool
) -> tuple[HospitalRecord, str] | None:
    for hospital in hospitals:
        if emergency and not hospital.emergency_designated:
            continue

        for name in names:
            if name in hospital.departments:
                return hospital, _DEPARTMENT_LABELS.get(name, name)

    return None


# Medical history


@dataclass
class _History:
    """Medications, surgeries and the visits they imply, built together so each visit has its department."""

    treatment_start: date
    medications: list[Medication] = field(default_factory=list)
    surgeries: list[Surgery] = field(default_factory=list)
    visits: dict[tuple[str, date, str], Visit] = field(default_factory=dict)
    # Dispensing dates of long-term prescriptions per hospital code, so that
    # every drug from one hospital is prescribed at the same visits.
    schedules: dict[str, list[tuple[date, str]]] = field(default_factory=dict)

    def add_visit(self, hospital: HospitalRecord, visited_on: date, department: str) -> None:
        visit = Visit(hospital.code, hospital.name, visited_on, department)
        self.visits[(hospital.code, visited_on, department)] = visit

    def sorted_visits(self) -> list[Visit]:
        return sorted(self.visits.values(), key=lambda visit: (visit.visited_on, visit.hospital_code), reverse=True)


def _resolve_products(drugs: list[DrugRecord]) -> dict[_DrugSpec, list[DrugRecord]]:
    """Find the products for every profile, so a missing ingredient fails before any patient is made."""
    products: dict[_DrugSpec, list[DrugRecord]] = {}

    for profile in _ALL_PROFILES:
        for spec in profile.drugs:
            if spec in products:
                continue

            matches = find_drugs(drugs, spec.ingredient, strength=spec.strength, category=spec.category)
            if not matches:
                raise LookupError(
                    f"drug list has no {spec.category} with 成分名 containing {spec.ingredient!r} "
                    f"and 規格 {spec.strength!r}, needed by demo profile {profile.key!r}. "
                    "Check that the full MHLW price list was loaded."
                )

            products[spec] = matches

    return products


def _history(context: _PatientContext) -> _History:
    """Build the patient's history: each dispensing and each surgery inside 5 years implies a visit that day."""
    history = _History(treatment_start=context.days_ago(_HISTORY_START_DAYS))

    for spec in context.profile.drugs:
        _add_prescriptions(context, history, spec)

    for spec in context.profile.surgeries:
        _add_surgery(context, history, spec)

    # Follow-up visits without a prescription: a monthly review for dialysis
    # patients, one check-up for everyone else.
    follow_up_key = context.profile.follow_up_department or context.profile.drugs[0].department
    hospital, department = _hospital_for(context, follow_up_key)
    for _ in range(3 if context.profile.dialysis else 1):
        history.add_visit(hospital, context.days_ago(_FOLLOW_UP_DAYS), department)

    history.medications.sort(key=lambda medication: (medication.dispensed_on, medication.drug_code), reverse=True)
    history.surgeries.sort(key=lambda surgery: surgery.performed_on, reverse=True)
    return history


def _add_prescriptions(context: _PatientContext, history: _History, spec: _DrugSpec) -> None:
    product = context.rng.choice(context.products[spec])
    hospital, department = _hospital_for(context, spec.department)

    for dispensed_on, source in _dispensing_dates(context, history, spec, hospital):
        history.medications.append(
            Medication(
                drug_code=product.code,
                drug_name=product.name,
                ingredient=product.ingredient,
                dispensed_on=dispensed_on,
                days=spec.days,
                dose=spec.dose,
                hospital_code=hospital.code,
                source=source,
            )
        )
        history.add_visit(hospital, dispensed_on, department)


def _dispensing_dates(
    context: _PatientContext, history: _History, spec: _DrugSpec, hospital: HospitalRecord
) -> list[tuple[date, str]]:
    if spec.pattern == "recent":
        return [(context.days_ago(_EPRESCRIPTION_RECENT_DAYS), "eprescription")]

    if spec.pattern == "old":
        return [(context.days_ago(_OLD_ACUTE_DAYS), "claims")]

    if hospital.code not in history.schedules:
        history.schedules[hospital.code] = [
            (history.treatment_start, "claims"),
            (context.days_ago(_OLDER_DAYS), "claims"),
            (context.days_ago(_CLAIMS_RECENT_DAYS), "claims"),
            (context.days_ago(_EPRESCRIPTION_RECENT_DAYS), "eprescription"),
        ]

    return history.schedules[hospital.code]


def _add_surgery(context: _PatientContext, history: _History, spec: _SurgerySpec) -> None:
    hospital, department = _hospital_for(context, spec.department, emergency=True)
    performed_on = context.days_ago(_OLD_SURGERY_DAYS if spec.old else _SURGERY_DAYS)
    history.surgeries.append(Surgery(spec.name, performed_on, hospital.code))

    # The visit history covers 5 years, so an older surgery leaves no visit.
    if performed_on >= _shift_years(context.today, -5):
        history.add_visit(hospital, performed_on, department)


def _conditions(context: _PatientContext, history: _History) -> list[Condition]:
    """Record each diagnosis on the day long-term treatment started, or on the first dispensing for acute care."""
    if any(spec.pattern == "chronic" for spec in context.profile.drugs):
        recorded_on = history.treatment_start
    else:
        recorded_on = min(medication.dispensed_on for medication in history.medications)

    return [Condition(name, icd10, recorded_on) for name, icd10 in context.profile.conditions]


def _allergies(context: _PatientContext, index: int) -> list[Allergy]:
    allergies = list(context.profile.allergies)
    if index >= len(_FIXED_PROFILES) and context.rng.random() < 0.3:
        extra = context.rng.choice(_EXTRA_ALLERGIES)
        if extra.substance not in {allergy.substance for allergy in allergies}:
            allergies.append(extra)

    return allergies


def _last_checkup(context: _PatientContext, birth_date: date, index: int) -> date | None:
    # 特定健診 and 後期高齢者健診 cover people aged 40 and over.
    if _age_on(birth_date, context.today) < 40:
        return None

    if index < len(_FIXED_PROFILES) or context.rng.random() < 0.7:
        return context.days_ago((60, 500))

    return None


# Insurance


def insurer_number_check_digit(first_seven: str) -> str:
    """Return the check digit of a 保険者番号 from its first seven digits.

    Digits are weighted 2, 1, 2, … from the left, the digits of each product
    are summed, and the check digit is what brings the sum to a multiple of 10
    (``0101001`` → ``6``, giving 01010016).
    """
    if len(first_seven) != 7 or not first_seven.isdigit():
        raise ValueError(f"invalid insurer number body {first_seven!r}: expected 7 digits")

    total = 0
    for position, char in enumerate(first_seven):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10

    return str((10 - total % 10) % 10)


def _insurance(context: _PatientContext, birth_date: date, index: int) -> Insurance:
    rng = context.rng
    age = _age_on(birth_date, context.today)

    if age >= 75:
        return _late_elderly_insurance(context, birth_date, index)

    insurer = rng.choice(_EMPLOYEE_INSURERS)
    relationship = "家族" if index == 2 or (index >= len(_FIXED_PROFILES) and rng.random() < 0.3) else "本人"
    branch = "00" if relationship == "本人" else f"{rng.randint(1, 4):02d}"
    copay_ratio = 20 if age >= 70 or age < 6 else 30

    if index == 1:
        limit_category: str | None = "ウ"
    elif age < 70 and index >= len(_FIXED_PROFILES) and rng.random() < 0.2:
        limit_category = rng.choice(_LIMIT_CATEGORIES_UNDER_70)
    else:
        limit_category = None

    return Insurance(
        insurer_number=insurer.number,
        insurer_name=insurer.name,
        symbol=str(rng.randint(1000, 9999)),
        number=str(rng.randint(1, 99999)),
        branch=branch,
        relationship=relationship,
        copay_ratio=copay_ratio,
        valid_from=context.days_ago((200, 3000)),
        limit_category=limit_category,
    )


def _late_elderly_insurance(context: _PatientContext, birth_date: date, index: int) -> Insurance:
    # 後期高齢者医療 starts on the 75th birthday. Its certificates run to
    # 31 July and are renewed every year.
    rng = context.rng
    valid_to = date(context.today.year, 7, 31)
    if valid_to < context.today:
        valid_to = date(context.today.year + 1, 7, 31)

    copay_ratio = 10 if index < len(_FIXED_PROFILES) else rng.choice((10, 10, 10, 20, 30))

    return Insurance(
        insurer_number=_LATE_ELDERLY_INSURER.number,
        insurer_name=_LATE_ELDERLY_INSURER.name,
        symbol="",
        number=f"{rng.randint(0, 99999999):08d}",
        branch="00",
        relationship="本人",
        copay_ratio=copay_ratio,
        valid_from=_shift_years(birth_date, 75),
        valid_to=valid_to,
        limit_category="現役並みⅠ" if copay_ratio == 30 else None,
    )


# ---------------------------------------------------------------------------
# JSON conversion


def to_dict(patient: SyntheticPatient) -> dict[str, Any]:
    """Convert a patient to JSON-ready data, with dates as ISO 8601 strings (``YYYY-MM-DD``)."""
    return _encode(dataclasses.asdict(patient))


def from_dict(data: dict[str, Any]) -> SyntheticPatient:
    """Rebuild a patient from :func:`to_dict` output.

    Raises ``ValueError`` naming the first field that is missing or malformed.
    """
    return _decode(SyntheticPatient, data, "patient")


def _encode(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()

    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}

    if isinstance(value, list):
        return [_encode(item) for item in value]

    return value


def _decode(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"invalid {path}: expected an object, got {type(data).__name__}")

    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        field_path = f"{path}.{item.name}"
        if item.name not in data:
            if item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING:
                continue

            raise ValueError(f"missing field {field_path}")

        values[item.name] = _decode_value(hints[item.name], data[item.name], field_path)

    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid {path}: {error}") from error


def _decode_value(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)

    if origin is types.UnionType or origin is typing.Union:
        if value is None and type(None) in arguments:
            return None

        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return _decode_value(inner, value, path)

    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"invalid {path}: expected a list, got {type(value).__name__}")

        return [_decode_value(arguments[0], item, f"{path}[{position}]") for position, item in enumerate(value)]

    if dataclasses.is_dataclass(hint):
        return _decode(hint, value, path)

    if hint is date:
        if not isinstance(value, str):
            raise ValueError(f"invalid {path}: expected an ISO 8601 date string, got {value!r}")

        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"invalid {path}: expected an ISO 8601 date (YYYY-MM-DD), got {value!r}") from None

    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)

    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ValueError(f"invalid {path}: expected {hint.__name__}, got {type(value).__name__}")

    return value
