"""Vitals and observations: validation with Japanese messages, storage and the trend.

JCS is the Japan Coma Scale (3-3-9): 0, I-1..3, II-10..30, III-100..300, with the
suffixes R (restless), I (incontinence) and A (akinetic). GCS is E1-4 V1-5 M1-6.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from field_unit.models import Observation, db, utcnow
from field_unit.text_input import has_control_characters, normalized, strict_int, strict_number
from hub.contract import SEVERITIES, Vitals

JCS_LEVELS = ("0", "1", "2", "3", "10", "20", "30", "100", "200", "300")
_JCS_PATTERN = re.compile(r"^(0|1|2|3|10|20|30|100|200|300)(-[RIA]{1,3})?$")
PUPIL_REACTIONS = {"prompt": "迅速", "sluggish": "緩慢", "none": "消失"}

# field: (label, unit, minimum, maximum, integer only)
NUMERIC_FIELDS: dict[str, tuple[str, str, float, float, bool]] = {
    "systolic_bp": ("収縮期血圧", "mmHg", 20, 300, True),
    "diastolic_bp": ("拡張期血圧", "mmHg", 10, 200, True),
    "heart_rate": ("心拍数", "回/分", 0, 300, True),
    "respiratory_rate": ("呼吸数", "回/分", 0, 80, True),
    "spo2": ("SpO2", "%", 0, 100, True),
    "body_temperature": ("体温", "℃", 25.0, 45.0, False),
    "gcs_e": ("GCS E", "", 1, 4, True),
    "gcs_v": ("GCS V", "", 1, 5, True),
    "gcs_m": ("GCS M", "", 1, 6, True),
    "pupil_left_mm": ("瞳孔 左", "mm", 1.0, 9.0, False),
    "pupil_right_mm": ("瞳孔 右", "mm", 1.0, 9.0, False),
}
TREND_FIELDS = ("systolic_bp", "diastolic_bp", "heart_rate", "respiratory_rate", "spo2", "body_temperature", "gcs_total")


class ObservationError(ValueError):
    """One or more fields are invalid; ``errors`` maps each field to a Japanese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid observation: " + ", ".join(sorted(errors)))
        self.errors = errors


@dataclass
class TrendRow:
    observation: Observation
    values: dict[str, Any]
    arrows: dict[str, str]


def validate(form: dict[str, str]) -> dict[str, Any]:
    """Turn form strings into typed values; raise ObservationError listing every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    for name, (label, unit, minimum, maximum, integer) in NUMERIC_FIELDS.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            continue

        number = strict_int(raw) if integer else strict_number(raw)
        if number is None:
            errors[name] = f"{label}は{'整数' if integer else '数値'}で入力してください。"
            continue

        if not minimum <= number <= maximum:
            errors[name] = f"{label}は{minimum:g}〜{maximum:g}{unit}の範囲で入力してください。"
            continue

        values[name] = number

    _check_blood_pressure(values, errors)
    _check_gcs(values, errors)
    _check_jcs(form, values, errors)
    _check_choices(form, values, errors)

    if errors:
        raise ObservationError(errors)

    if not values:
        raise ObservationError({"form": "記録する項目を一つ以上入力してください。"})

    return values


def _check_blood_pressure(values: dict[str, Any], errors: dict[str, str]) -> None:
    systolic, diastolic = values.get("systolic_bp"), values.get("diastolic_bp")
    if (systolic is None) != (diastolic is None) and "systolic_bp" not in errors and "diastolic_bp" not in errors:
        errors["diastolic_bp"] = "血圧は収縮期と拡張期の両方を入力してください。"
    elif systolic is not None and diastolic is not None and diastolic >= systolic:
        errors["diastolic_bp"] = "拡張期血圧は収縮期血圧より低い値を入力してください。"


def _check_gcs(values: dict[str, Any], errors: dict[str, str]) -> None:
    parts = [values.get(name) for name in ("gcs_e", "gcs_v", "gcs_m")]
    given = [part for part in parts if part is not None]
    if given and len(given) < 3 and not any(name in errors for name in ("gcs_e", "gcs_v", "gcs_m")):
        errors["gcs_m"] = "GCSはE・V・Mの三つとも入力してください。"
    elif len(given) == 3:
        values["gcs_total"] = sum(given)


def _check_jcs(form: dict[str, str], values: dict[str, Any], errors: dict[str, str]) -> None:
    jcs = normalized(form.get("jcs") or "").upper()
    if not jcs:
        return

    if not _JCS_PATTERN.match(jcs):
        errors["jcs"] = "JCSは 0, 1, 2, 3, 10, 20, 30, 100, 200, 300 のいずれか(必要なら -R, -I, -A を付ける)で入力してください。"
        return

    values["jcs"] = jcs


def _check_choices(form: dict[str, str], values: dict[str, Any], errors: dict[str, str]) -> None:
    for side in ("left", "right"):
        reaction = (form.get(f"pupil_{side}_reaction") or "").strip()
        if reaction and reaction not in PUPIL_REACTIONS:
            errors[f"pupil_{side}_reaction"] = "対光反射は 迅速・緩慢・消失 から選んでください。"
        elif reaction:
            values[f"pupil_{side}_reaction"] = reaction

    complaint = (form.get("chief_complaint") or "").strip()
    if len(complaint) > 200:
        errors["chief_complaint"] = "主訴は200文字以内で入力してください。"
    elif has_control_characters(complaint):
        errors["chief_complaint"] = "主訴に使えない文字(制御文字)があります。"
    elif complaint:
        values["chief_complaint"] = complaint

    severity = (form.get("severity_estimate") or "").strip()
    if severity and severity not in SEVERITIES:
        errors["severity_estimate"] = "傷病程度は一覧から選んでください。"
    elif severity:
        values["severity_estimate"] = severity


def record(incident_id: str, values: dict[str, Any], measured_at: datetime | None = None) -> Observation:
    row = Observation(incident_id=incident_id, measured_at=measured_at or utcnow(), values=values)
    db.session.add(row)
    db.session.commit()
    return row


def history(incident_id: str) -> list[Observation]:
    query = db.select(Observation).where(Observation.incident_id == incident_id, Observation.values.is_not(None))
    return list(db.session.execute(query.order_by(Observation.measured_at, Observation.id)).scalars())


def trend(incident_id: str) -> list[TrendRow]:
    """Return every measurement in time order with ↑ ↓ → against the previous value of each field."""
    rows = []
    previous: dict[str, Any] = {}
    for observation in history(incident_id):
        values = observation.values or {}
        arrows = {}
        for name in TREND_FIELDS:
            if name in values and name in previous:
                arrows[name] = _arrow(previous[name], values[name])
        previous.update({name: values[name] for name in TREND_FIELDS if name in values})
        rows.append(TrendRow(observation, values, arrows))
    return rows


def _arrow(before: float, after: float) -> str:
    if after > before:
        return "↑"
    if after < before:
        return "↓"
    return "→"


def latest_value(incident_id: str, name: str) -> Any:
    for observation in reversed(history(incident_id)):
        if name in (observation.values or {}):
            return observation.values[name]
    return None


def as_contract_vitals(incident_id: str) -> list[Vitals]:
    """Return the measurements in the transfer packet's wire format (only the fields it has)."""
    result = []
    for observation in history(incident_id):
        values = observation.values or {}
        result.append(
            Vitals(
                measured_at=observation.measured_at.isoformat(),
                jcs=values.get("jcs"),
                systolic_bp=values.get("systolic_bp"),
                diastolic_bp=values.get("diastolic_bp"),
                heart_rate=values.get("heart_rate"),
                respiratory_rate=values.get("respiratory_rate"),
                spo2=values.get("spo2"),
                body_temperature=values.get("body_temperature"),
            )
        )
    return result


def extra_findings_text(incident_id: str) -> str:
    """GCS and pupils of the latest measurement as text, since the wire Vitals has no fields for them."""
    parts = []
    gcs = [latest_value(incident_id, name) for name in ("gcs_e", "gcs_v", "gcs_m")]
    if all(part is not None for part in gcs):
        parts.append(f"GCS E{gcs[0]}V{gcs[1]}M{gcs[2]}={sum(gcs)}")

    for side, label in (("left", "左"), ("right", "右")):
        size = latest_value(incident_id, f"pupil_{side}_mm")
        reaction = latest_value(incident_id, f"pupil_{side}_reaction")
        if size is not None or reaction is not None:
            parts.append(f"瞳孔{label} {size if size is not None else '-'}mm {PUPIL_REACTIONS.get(reaction, '-')}")

    return " / ".join(parts)
