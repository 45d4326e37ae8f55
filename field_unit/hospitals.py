"""Hospital candidates for an incident, nearest first."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hub.contract import HospitalInfo

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Candidate:
    hospital: HospitalInfo
    distance_km: float
    patient_visited: bool


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
    """Emergency-designated hospitals by distance, plus any the patient visited."""
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
