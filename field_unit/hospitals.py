"""Hospital candidates for an incident: the cached hub list, ranked by distance from the scene.

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
) -> list[Candidate]:
    """Emergency-designated hospitals by distance, plus any the patient visited.

    NOTE: the hub's HospitalInfo carries only the 救急告示 flag, so that flag is the
    whole capability filter; departments and stroke capability are not on the wire yet.
    """
    candidates = []
    for hospital in hospitals:
        visited = hospital.code in visited_codes
        if hospital.latitude is None or hospital.longitude is None:
            continue

        if not (hospital.emergency_designated or visited):
            continue

        distance = distance_km(latitude, longitude, hospital.latitude, hospital.longitude)
        candidates.append(Candidate(hospital, distance, visited))

    candidates.sort(key=lambda candidate: candidate.distance_km)
    return candidates[:limit]


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
