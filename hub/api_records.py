"""API of the records behind a grant: detail views further back than the summary,
and the prescription check against current medication."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from hub import consent, prescription_checks
from hub.api import LEGAL_BASIS
from hub.audit import AuditEntry, commit_with_audit
from hub.auth import current_client
from hub.contract import API_PREFIX
from hub.models import ApiClient, Checkup, ClinicalItem, ConsentGrant, Medication, Visit, db
from hub.problems import ApiProblem, bad_request, not_found
from hub.summary import months_before

bp = Blueprint("records", __name__, url_prefix=API_PREFIX)

DETAIL_DEFAULT_YEARS = 5


@bp.get("/grants/<grant_id>/details")
def details(grant_id: str) -> Any:
    """Return every record of the grant's patient since ``since`` (default 5 years back)."""
    client = current_client("device")
    grant = _valid_grant(client, grant_id)
    since = _since_parameter()

    body = {
        "since": since.isoformat(),
        "medications": [_medication_dict(row) for row in _rows(Medication, grant.patient_id, Medication.dispensed_on, since)],
        "visits": [_visit_dict(row) for row in _rows(Visit, grant.patient_id, Visit.visited_on, since)],
        "clinical_items": [_clinical_dict(row) for row in _clinical_rows(grant.patient_id, since)],
        "checkups": [{"checked_on": row.checked_on.isoformat(), "results": row.results}
                     for row in _rows(Checkup, grant.patient_id, Checkup.checked_on, since)],
    }
    commit_with_audit(_audit(client, grant, "view_detail", {"since": since.isoformat()}))
    return jsonify(body)


@bp.post("/grants/<grant_id>/prescription-checks")
def prescription_check(grant_id: str) -> Any:
    """Check proposed drugs for 重複投薬 and 併用禁忌 against the patient's current medication."""
    client = current_client("device", "hospital")
    grant = _valid_grant(client, grant_id) if client.role == "device" else _hospital_grant(client, grant_id)
    proposed = _proposed_drugs()

    today = datetime.now(timezone.utc).date()
    current = prescription_checks.current_medications(grant.patient_id, today)
    rules = prescription_checks.load_rules(current_app.config["RULES_FILE"])
    result = prescription_checks.check(proposed, current, rules)

    commit_with_audit(_audit(client, grant, "check_prescription", {"drugs": len(proposed)}))
    return jsonify(result)


def _valid_grant(client: ApiClient, grant_id: str) -> ConsentGrant:
    grant = db.session.get(ConsentGrant, grant_id)
    if grant is None or grant.client_id != client.id:
        raise not_found("同意")

    if not consent.grant_is_valid(grant):
        raise ApiProblem(403, "consent_expired", "同意の有効期限が切れています。もう一度カードを読み取ってください。")

    return grant


def _hospital_grant(client: ApiClient, grant_id: str) -> ConsentGrant:
    # A hospital may check under a grant only when a packet under that grant was addressed to it.
    from hub.models import Transfer

    addressed = db.session.execute(
        db.select(Transfer.id).where(Transfer.hospital_code == client.organization_code,
                                     Transfer.payload["grant_id"].as_string() == grant_id)
    ).first()
    grant = db.session.get(ConsentGrant, grant_id)
    if addressed is None or grant is None:
        raise not_found("同意")

    if not consent.grant_is_valid(grant):
        raise ApiProblem(403, "consent_expired", "同意の有効期限が切れています。")

    return grant


def _since_parameter() -> date:
    raw = request.args.get("since")
    if raw is None:
        return months_before(datetime.now(timezone.utc).date(), 12 * DETAIL_DEFAULT_YEARS)

    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"since は YYYY-MM-DD 形式で指定してください ({raw!r})") from exc


def _proposed_drugs() -> list[prescription_checks.ProposedDrug]:
    body = request.get_json(silent=True)
    drugs = body.get("drugs") if isinstance(body, dict) else None
    if not isinstance(drugs, list) or not drugs:
        raise bad_request("drugs に確認する薬剤を1件以上指定してください")

    proposed = []
    for index, item in enumerate(drugs):
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) and item.get(key) for key in ("name", "ingredient")):
            raise bad_request(f"drugs[{index}] には name と ingredient が必要です")

        route = item.get("route", "内服")
        if not isinstance(route, str):
            raise bad_request(f"drugs[{index}].route は文字列で指定してください")

        proposed.append(prescription_checks.ProposedDrug(item["name"], item["ingredient"], route))

    return proposed


def _rows(model: Any, patient_id: int, date_column: Any, since: date) -> list[Any]:
    query = db.select(model).where(model.patient_id == patient_id, date_column >= since).order_by(date_column.desc())
    return list(db.session.execute(query).scalars())


def _clinical_rows(patient_id: int, since: date) -> list[ClinicalItem]:
    # Undated items (an allergy known for years) are always shown.
    query = db.select(ClinicalItem).where(
        ClinicalItem.patient_id == patient_id,
        (ClinicalItem.recorded_on >= since) | ClinicalItem.recorded_on.is_(None),
    )
    return list(db.session.execute(query.order_by(ClinicalItem.category, ClinicalItem.recorded_on.desc())).scalars())


def _audit(client: ApiClient, grant: ConsentGrant, action: str, detail: dict[str, Any]) -> AuditEntry:
    basis = LEGAL_BASIS[grant.mode] if client.role == "device" else "transfer_of_care"
    return AuditEntry(actor=client.name, organization_code=client.organization_code, patient_id=grant.patient_id,
                      action=action, legal_basis=basis, detail={"grant_id": grant.id, **detail})


def _medication_dict(row: Medication) -> dict[str, Any]:
    return {"drug_code": row.drug_code, "drug_name": row.drug_name, "ingredient": row.ingredient,
            "dispensed_on": row.dispensed_on.isoformat(), "days": row.days, "dose": row.dose,
            "route": row.route, "source": row.source, "hospital_name": row.hospital_name}


def _visit_dict(row: Visit) -> dict[str, Any]:
    return {"hospital_code": row.hospital_code, "hospital_name": row.hospital_name,
            "visited_on": row.visited_on.isoformat(), "department": row.department}


def _clinical_dict(row: ClinicalItem) -> dict[str, Any]:
    return {"category": row.category, "name": row.name,
            "date": row.recorded_on.isoformat() if row.recorded_on else None, "detail": row.detail}
