"""Ranking of hospital candidates."""

from __future__ import annotations

import pytest

from field_unit.hospitals import distance_km, rank_candidates
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
