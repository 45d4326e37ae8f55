"""Synthetic incident reports for the demo's statistics screens."""

from __future__ import annotations

from datetime import date, datetime

from hub.contract import MYNA_STOP_REASONS, IncidentReport
from hub.demo_incidents import generate_incident_reports

TODAY = date(2026, 12, 4)
CODES = ["H-1", "H-2", "H-3", "H-4", "H-5", "H-6", "H-7", "H-8"]


def reports(count: int = 400):
    return generate_incident_reports(count, seed=3, today=TODAY, unit_prefix="試験消防局", hospital_codes=CODES)


def test_reports_are_deterministic() -> None:
    assert [r.to_dict() for r in reports(50)] == [r.to_dict() for r in reports(50)]


def test_reports_pass_the_contract() -> None:
    for report in reports():
        assert IncidentReport.from_dict(report.to_dict()) == report


def test_reports_within_last_year() -> None:
    for report in reports():
        call = report.times["call_received"]
        if call is not None:
            assert (TODAY - datetime.fromisoformat(call).date()).days <= 366


def test_last_inquiry_accepted() -> None:
    for report in reports():
        assert report.inquiries[-1].result == "accepted"


def test_some_hard_to_place_cases() -> None:
    many = [r for r in reports(1000) if len(r.inquiries) >= 4]
    assert many, "the demo should include 救急搬送困難事案 candidates"


def test_stop_reasons_have_labels() -> None:
    reasons = {r.myna.stop_reason for r in reports(1000) if r.myna.stop_reason}
    assert reasons <= set(MYNA_STOP_REASONS)
