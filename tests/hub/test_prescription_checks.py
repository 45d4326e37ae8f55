"""Prescription checks (重複投薬, 併用禁忌), the rule table format and detail views."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub import prescription_checks
from hub.models import ClinicalItem, Medication, Patient, db
from hub.prescription_checks import ProposedDrug, RuleFileError, parse_rules, taking_until

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, auth
from .test_api import request_summary


def check(client, grant_id: str, drugs: list[dict], token: str = DEVICE_TOKEN):
    return client.post(f"/api/v1/grants/{grant_id}/prescription-checks", json={"drugs": drugs}, headers=auth(token))


def test_shipped_rules_all_have_source() -> None:
    rules = prescription_checks.load_rules(str(prescription_checks.DEFAULT_RULES_FILE))

    assert len(rules) >= 5
    assert all("添付文書" in rule.source for rule in rules)


def test_rule_without_source_rejected() -> None:
    text = "ingredient_a,ingredient_b,route_a,route_b,reason,source\nA,B,,,理由,\n"

    with pytest.raises(RuleFileError, match="row 1: source is empty"):
        parse_rules(text)


def test_rule_missing_column_rejected() -> None:
    with pytest.raises(RuleFileError, match="missing column"):
        parse_rules("ingredient_a,ingredient_b\nA,B\n")


def test_uncomputable_duration_counts_14_days() -> None:
    assert taking_until(date(2026, 1, 1), 0) == date(2026, 1, 14)
    assert taking_until(date(2026, 1, 1), None) == date(2026, 1, 14)
    assert taking_until(date(2026, 1, 1), 28) == date(2026, 1, 28)


def test_duplicate_same_ingredient_and_route(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    result = check(client, grant_id, [{"name": "ワルファリンK錠", "ingredient": "ワルファリンカリウム", "route": "内服"}]).json

    assert [d["current"] for d in result["duplicates"]] == ["ワーファリン錠1mg"]


def test_other_route_not_duplicate(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    result = check(client, grant_id, [{"name": "外用", "ingredient": "ワルファリンカリウム", "route": "外用"}]).json

    assert result["duplicates"] == []


def test_contraindication_found_with_source(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    result = check(client, grant_id, [{"name": "フロリードゲル", "ingredient": "ミコナゾール", "route": "外用"}]).json

    assert len(result["contraindications"]) == 1
    assert "ワーファリン" in result["contraindications"][0]["source"]


def test_finished_medication_not_current(client, issued_card) -> None:
    # The seeded 古い成分 was dispensed 200 days ago for 28 days.
    grant_id = request_summary(client, issued_card).json["grant_id"]

    result = check(client, grant_id, [{"name": "x", "ingredient": "古い成分"}]).json

    assert result["duplicates"] == []


def test_as_needed_drug_current_for_14_days(app, client, issued_card) -> None:
    today = date.today()
    with app.app_context():
        patient = db.session.execute(db.select(Patient)).scalar_one()
        db.session.add(Medication(patient_id=patient.id, drug_code="1", drug_name="頓用薬", ingredient="ロキソプロフェン",
                                  dispensed_on=today - timedelta(days=10), days=0, dose="頓用", hospital_name="H",
                                  source="claims", route="内服"))
        db.session.commit()
    grant_id = request_summary(client, issued_card).json["grant_id"]

    result = check(client, grant_id, [{"name": "ロキソニン", "ingredient": "ロキソプロフェン"}]).json

    assert len(result["duplicates"]) == 1


def test_check_without_drugs_rejected(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    response = check(client, grant_id, [])

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_hospital_without_packet_not_found(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    assert check(client, grant_id, [{"name": "a", "ingredient": "b"}], HOSPITAL_TOKEN).status_code == 404


def test_details_go_further_back(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    body = client.get(f"/api/v1/grants/{grant_id}/details", headers=auth(DEVICE_TOKEN)).json

    assert len(body["medications"]) == 3
    assert len(body["visits"]) == 2


def test_details_bad_since_rejected(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]

    response = client.get(f"/api/v1/grants/{grant_id}/details?since=yesterday", headers=auth(DEVICE_TOKEN))

    assert response.status_code == 400


def test_details_revoked_grant_forbidden(client, issued_card) -> None:
    grant_id = request_summary(client, issued_card).json["grant_id"]
    client.post(f"/api/v1/grants/{grant_id}/revoke", headers=auth(DEVICE_TOKEN))

    response = client.get(f"/api/v1/grants/{grant_id}/details", headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403


def test_summary_lists_infections_and_dialysis(app, client, issued_card) -> None:
    with app.app_context():
        patient = db.session.execute(db.select(Patient)).scalar_one()
        db.session.add_all([
            ClinicalItem(patient_id=patient.id, category="infection", name="HBs抗原陽性", recorded_on=date(2024, 1, 1)),
            ClinicalItem(patient_id=patient.id, category="dialysis", name="人工腎臓", recorded_on=date.today() - timedelta(days=5)),
        ])
        db.session.commit()

    summary = request_summary(client, issued_card).json

    assert [item["name"] for item in summary["infections"]] == ["HBs抗原陽性"]
    assert summary["dialysis"] is True
