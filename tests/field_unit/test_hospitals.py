"""Ranking of hospital candidates."""

from __future__ import annotations

import pytest

from field_unit.hospitals import (
    CandidateFilter,
    UnknownDepartmentError,
    department_choices,
    distance_km,
    parse_filter,
    rank_candidates,
)
from hub.contract import HospitalInfo


def hospital(code: str, lat: float | None, lon: float | None, emergency: bool = True) -> HospitalInfo:
    return HospitalInfo(code=code, name=code, address="", latitude=lat, longitude=lon, emergency_designated=emergency)


def test_distance_sapporo_to_asahikawa() -> None:
    # Sapporo Station to Asahikawa Station is about 115 km in a straight line.
    assert distance_km(43.0687, 141.3508, 43.7631, 142.3582) == pytest.approx(112, abs=5)


def test_rank_nearest_first() -> None:
    ranked = rank_candidates([hospital("far", 43.5, 141.35), hospital("near", 43.07, 141.35)], 43.0687, 141.3508, set())
    assert [c.hospital.code for c in ranked] == ["near", "far"]


def test_rank_skips_non_emergency_unless_visited() -> None:
    hospitals = [hospital("clinic", 43.07, 141.35, emergency=False), hospital("own", 43.08, 141.35, emergency=False)]
    ranked = rank_candidates(hospitals, 43.0687, 141.3508, {"own"})

    assert [c.hospital.code for c in ranked] == ["own"]
    assert ranked[0].patient_visited


def test_rank_skips_hospital_without_coordinates() -> None:
    assert rank_candidates([hospital("nowhere", None, None)], 43.0, 141.0, set()) == []


def equipped(code: str, lat: float, departments: tuple[str, ...] = (), stroke: bool = False) -> HospitalInfo:
    return HospitalInfo(code=code, name=code, address="", latitude=lat, longitude=141.35, emergency_designated=True,
                        departments=list(departments), stroke_care=stroke)


NEARBY = [
    equipped("near", 43.07, ("内科",)),
    equipped("middle", 43.10, ("脳",), stroke=True),
    equipped("far", 43.50, ("脳神経外科", "循")),
]


def test_filter_by_abbreviation() -> None:
    # The public list writes 脳 for 脳神経外科; both spellings must match.
    ranked = rank_candidates(NEARBY, 43.0687, 141.3508, set(), need=CandidateFilter(department="脳神経外科"))
    assert [c.hospital.code for c in ranked] == ["middle", "far"]


def test_filter_by_stroke_care() -> None:
    ranked = rank_candidates(NEARBY, 43.0687, 141.3508, set(), need=CandidateFilter(stroke_care=True))
    assert [c.hospital.code for c in ranked] == ["middle"]


def test_filter_before_limit() -> None:
    ranked = rank_candidates(NEARBY, 43.0687, 141.3508, set(), limit=1, need=CandidateFilter(department="循環器内科"))
    assert [c.hospital.code for c in ranked] == ["far"]


def test_filter_keeps_own_hospital_marked() -> None:
    ranked = rank_candidates(NEARBY, 43.0687, 141.3508, {"far"}, need=CandidateFilter(department="脳神経外科"))
    assert [c.patient_visited for c in ranked] == [False, True]


def test_no_filter_keeps_all() -> None:
    assert len(rank_candidates(NEARBY, 43.0687, 141.3508, set())) == 3


def test_parse_filter_stroke_flag() -> None:
    assert parse_filter("", "1", NEARBY) == CandidateFilter(stroke_care=True)


def test_parse_filter_unknown_department() -> None:
    with pytest.raises(UnknownDepartmentError) as caught:
        parse_filter("歯科", None, NEARBY)
    assert "歯科" in caught.value.user_message


def test_department_choices_listed_only() -> None:
    assert department_choices(NEARBY) == ["循環器内科", "脳神経外科", "内科"]


def test_parse_filter_unlisted_choice() -> None:
    with pytest.raises(UnknownDepartmentError):
        parse_filter("小児科", None, NEARBY)
