"""Hospital candidates for an incident: the cached hub list, filtered by need and ranked by distance.

The hub's list is cached on the tablet so that selection works without coverage. A
scene given as an address is placed at the centre of the hospitals whose addresses
share the longest prefix with it (in practice the same ward or town), which needs no
geocoding service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from field_unit.models import CachedHospital, db, utcnow
from hub.client import HubClient
from hub.contract import HospitalInfo

EARTH_RADIUS_KM = 6371.0
# Shorter shared prefixes are only the prefecture (北海道), too coarse to place a scene.
MIN_ADDRESS_PREFIX = 5


# Departments the crew most often needs, offered as one-tap filters when some cached
# hospital offers them, each with the spellings the public hospital list uses. The list
# abbreviates (脳 = 脳神経外科, 神内 = 神経内科, 整 = 整形外科) and ships no legend, so
# these are the usual meanings in Japanese hospital directories.
FILTER_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "循環器内科": ("循環器内科", "循環器科", "循内", "循", "心臓内科"),
    "脳神経外科": ("脳神経外科", "脳外", "脳"),
    "神経内科": ("脳神経内科", "神経内科", "神内"),
    "外科": ("外科", "外"),
    "整形外科": ("整形外科", "整"),
    "内科": ("内科", "内"),
    "小児科": ("小児科", "小"),
    "産婦人科": ("産婦人科", "産婦", "産科", "産"),
    "精神科": ("精神科", "精"),
    "救急科": ("救急科", "救"),
}
DEPARTMENT_MAX_LENGTH = 40


@dataclass(frozen=True)
class CandidateFilter:
    """Requirement of the patient on the hospital: a department (診療科), acute stroke care, or both."""

    department: str | None = None
    stroke_care: bool = False

    def accepts(self, hospital: HospitalInfo) -> bool:
        if self.department and not offers(hospital, self.department):
            return False

        return hospital.stroke_care or not self.stroke_care


class UnknownDepartmentError(ValueError):
    """The requested department is in no cached hospital's list."""

    def __init__(self, department: str) -> None:
        super().__init__(department)
        self.user_message = f"診療科「{department[:DEPARTMENT_MAX_LENGTH]}」では絞り込めません。表示されているボタンから選び直してください。"


def offers(hospital: HospitalInfo, department: str) -> bool:
    """Return whether the hospital lists the filter department under any of its spellings."""
    spellings = FILTER_DEPARTMENTS.get(department, (department,))
    return any(name in spellings for name in hospital.departments)


@dataclass(frozen=True)
class Candidate:
    hospital: HospitalInfo
    distance_km: float
    patient_visited: bool


class AddressNotFoundError(ValueError):
    """No cached hospital address shares enough of the entered address."""

    user_message = "住所から現場の位置を特定できませんでした。GPSを使うか、市区町村名から入力し直してください。"


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def rank_candidates(
    hospitals: list[HospitalInfo],
    latitude: float,
    longitude: float,
    visited_codes: set[str],
    limit: int = 10,
    need: CandidateFilter = CandidateFilter(),
) -> list[Candidate]:
    """Emergency-designated hospitals by distance, plus any the patient visited, that meet ``need``.

    The filter applies before ``limit``, so a needed department further away still
    appears; the patient's own hospitals that meet it stay in distance order, marked.
    """
    candidates = []
    for hospital in hospitals:
        visited = hospital.code in visited_codes
        if hospital.latitude is None or hospital.longitude is None:
            continue

        if not (hospital.emergency_designated or visited):
            continue

        if not need.accepts(hospital):
            continue

        distance = distance_km(latitude, longitude, hospital.latitude, hospital.longitude)
        candidates.append(Candidate(hospital, distance, visited))

    candidates.sort(key=lambda candidate: candidate.distance_km)
    return candidates[:limit]


def department_choices(hospitals: list[HospitalInfo]) -> list[str]:
    """Return the one-tap department filters that some cached hospital can meet."""
    return [name for name in FILTER_DEPARTMENTS if any(offers(hospital, name) for hospital in hospitals)]


def parse_filter(department: str | None, stroke_care: str | None, hospitals: list[HospitalInfo]) -> CandidateFilter:
    """Read the filter from the screen's query; a department must be one of the offered filters."""
    department = (department or "").strip() or None
    if department is not None and department not in department_choices(hospitals):
        raise UnknownDepartmentError(department)

    return CandidateFilter(department=department, stroke_care=stroke_care == "1")


def cached_hospitals() -> list[HospitalInfo]:
    rows = db.session.execute(db.select(CachedHospital)).scalars()
    return [HospitalInfo.from_dict(row.data) for row in rows]


def refresh_hospital_cache(client: HubClient) -> int:
    """Replace the cached list with the hub's; return the number of hospitals."""
    hospitals = client.list_hospitals()
    fetched_at = utcnow()
    db.session.execute(db.delete(CachedHospital))
    db.session.add_all(CachedHospital(code=h.code, data=h.to_dict(), fetched_at=fetched_at) for h in hospitals)
    db.session.commit()
    return len(hospitals)


def locate_address(address: str, hospitals: list[HospitalInfo]) -> tuple[float, float]:
    """Place an address at the centre of the hospitals sharing its longest address prefix."""
    address = address.strip().replace(" ", "").replace("\u3000", "")
    best_length = 0
    best: list[HospitalInfo] = []
    for hospital in hospitals:
        if hospital.latitude is None or hospital.longitude is None:
            continue

        length = _common_prefix_length(address, hospital.address.replace(" ", "").replace("\u3000", ""))
        if length > best_length:
            best_length, best = length, [hospital]
        elif length == best_length and length > 0:
            best.append(hospital)

    if best_length < MIN_ADDRESS_PREFIX or not best:
        raise AddressNotFoundError(address)

    latitude = sum(h.latitude for h in best) / len(best)  # type: ignore[misc]
    longitude = sum(h.longitude for h in best) / len(best)  # type: ignore[misc]
    return latitude, longitude


def _common_prefix_length(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length
