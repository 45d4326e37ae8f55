"""The inbox: the hospital's transfer packets as fetched from the hub, and their screen rows.

Every open screen polls the portal, and the portal fetches from the hub at
most once per ``HUB_POLL_SECONDS`` whatever the number of screens. The copy
lives in memory only. Fetching marks the hub's new packets as delivered.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from flask import Flask, current_app

from hospital_portal.models import DEPARTMENTS, PreparationNote, db
from hospital_portal.logsafe import portal_logger
from hub.client import HubClient, HubError
from hub.contract import DECLINE_REASONS, SEVERITIES, TransferView

logger = portal_logger(__name__)

STATUS_LABELS = {
    "sent": "新着",
    "delivered": "新着",
    "viewed": "確認中",
    "accepted": "受入可",
    "declined": "受入不可",
    "arrived": "到着",
    "handed_over": "引継完了",
    "withdrawn": "取下げ(他院が受入れ)",
}

# Chief-complaint keywords that suggest the department to call until staff choose one.
_DEPARTMENT_KEYWORDS = (
    (("胸痛", "心停止", "心肺停止", "動悸", "不整脈"), "cardiology"),
    (("麻痺", "意識障害", "頭痛", "けいれん", "痙攣", "脳"), "neurosurgery"),
    (("骨折", "転倒", "外傷", "打撲", "脱臼"), "orthopedics"),
    (("腹痛", "吐血", "下血"), "surgery"),
    (("小児", "乳児", "幼児"), "pediatrics"),
    (("妊娠", "分娩", "出産"), "obstetrics"),
)


@dataclass
class InboxCache:
    """The latest inbox fetched from the hub, shared by all requests of one app."""

    views: list[TransferView] = field(default_factory=list)
    fetched_at: float | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def init_inbox(app: Flask) -> None:
    app.extensions["portal_inbox"] = InboxCache()


def hub_client() -> HubClient:
    return HubClient(current_app.config["HUB_URL"], current_app.config["HUB_TOKEN"], timeout=5.0)


# The hub's own messages may carry English reasons or raw status codes; staff get these instead.
HUB_MESSAGES = {
    "invalid_request": "ハブが送信内容を受け付けませんでした。画面を再読み込みしてから、もう一度操作してください。",
    "invalid_transition": "この搬送連絡の状態はすでに変わっています。最新の状態を表示しました。",
    "not_found": "この搬送連絡はハブに見つかりません。受信箱へ戻ってください。",
    "unknown_hospital": "この病院はハブに登録されていません。管理者に連絡してください。",
}
_ASCII_WORD = re.compile(r"[A-Za-z_]{2,}")


def hub_message(exc: HubError) -> str:
    """Return Japanese text for a hub error: a known code's own text, else the hub's if it has no English."""
    if exc.code in HUB_MESSAGES:
        return HUB_MESSAGES[exc.code]

    if _ASCII_WORD.search(exc.user_message):
        return "ハブでエラーが起きました。少し待ってから、もう一度操作してください。"

    return exc.user_message


def current_inbox(force: bool = False) -> InboxCache:
    """Return the cached inbox, fetching it from the hub first when it is older than the poll interval."""
    cache: InboxCache = current_app.extensions["portal_inbox"]
    interval = current_app.config["HUB_POLL_SECONDS"]

    with cache.lock:
        fresh = cache.fetched_at is not None and time.monotonic() - cache.fetched_at < interval
        if fresh and not force:
            return cache

        try:
            cache.views = hub_client().inbox()
            cache.error = None
        except HubError as exc:
            # Keep the last list on screen and show the error beside it.
            logger.warning("inbox fetch from the hub failed: %s (status %s)", exc.code, exc.status)
            cache.error = hub_message(exc)

        cache.fetched_at = time.monotonic()

    return cache


def find_transfer(transfer_id: str) -> TransferView | None:
    """Return one of this hospital's transfers, fetching fresh from the hub so its status is current."""
    for view in current_inbox(force=True).views:
        if view.transfer_id == transfer_id:
            return view

    return None


def replace_cached(view: TransferView) -> None:
    """Put a view the hub just returned (after an answer) into the cache, so screens see it at once."""
    cache: InboxCache = current_app.extensions["portal_inbox"]
    with cache.lock:
        cache.views = [view if item.transfer_id == view.transfer_id else item for item in cache.views]


def suggest_department(chief_complaint: str) -> str:
    for keywords, department in _DEPARTMENT_KEYWORDS:
        if any(keyword in chief_complaint for keyword in keywords):
            return department

    return "emergency"


def latest_notes(transfer_ids: list[str]) -> dict[str, PreparationNote]:
    """Return the newest preparation note of each transfer that has one."""
    if not transfer_ids:
        return {}

    rows = db.session.execute(
        db.select(PreparationNote)
        .where(PreparationNote.transfer_id.in_(transfer_ids))
        .order_by(PreparationNote.created_at, PreparationNote.id)
    ).scalars()
    return {row.transfer_id: row for row in rows}


MAX_ETA_MINUTES = 24 * 60


def eta_deadline(view: TransferView) -> str | None:
    """Return the expected arrival time (sent_at + ETA minutes) as ISO 8601, or None without an ETA."""
    packet = view.packet
    if packet.eta_minutes is None:
        return None

    try:
        sent = datetime.fromisoformat(packet.sent_at)
    except ValueError:
        return None

    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)

    # One bad packet must not blank the inbox: an ETA beyond a day is shown as unknown.
    if not 0 <= packet.eta_minutes <= MAX_ETA_MINUTES:
        return None

    return (sent + timedelta(minutes=packet.eta_minutes)).isoformat()


def age_on(birth_date: str, when: date) -> int | None:
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        return None

    return when.year - born.year - (0 if (when.month, when.day) >= (born.month, born.day) else 1)


# Packets in these states need nothing more from the ER, so the screen shows them only for a day.
CLOSED_STATUSES = frozenset({"handed_over", "declined", "withdrawn"})
RECENT_CLOSED = timedelta(hours=24)


def on_screen(view: TransferView, now: datetime, include_older: bool) -> bool:
    """Keep open packets, and closed ones whose last change is within :data:`RECENT_CLOSED`.

    NOTE: this only keeps the screen's feed small. The hub still returns every
    transfer the hospital ever received, with full payloads, on each fetch.
    ``GET /api/v1/transfers`` needs paging or an ``updated_since`` filter, so
    that the portal can request recent changes only.
    """
    if include_older or view.status not in CLOSED_STATUSES:
        return True

    try:
        updated = datetime.fromisoformat(view.updated_at)
    except ValueError:
        return True

    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=timezone.utc)

    return now - updated <= RECENT_CLOSED


def patient_visible(view: TransferView, emergency_view: bool) -> bool:
    """Patient data is shown only with 救急時閲覧権限 and never for a packet withdrawn because another hospital accepted."""
    return emergency_view and view.status != "withdrawn"


def screen_row(view: TransferView, note: PreparationNote | None, show_patient: bool) -> dict[str, Any]:
    """Build the inbox row the screen shows; patient fields only when ``show_patient`` (救急時閲覧権限)."""
    packet = view.packet
    show_patient = patient_visible(view, show_patient)
    department = note.department if note and note.department else suggest_department(packet.chief_complaint)
    latest_vitals = max(packet.vitals, key=lambda item: item.measured_at) if packet.vitals else None

    row: dict[str, Any] = {
        "transfer_id": view.transfer_id,
        "status": view.status,
        "status_label": STATUS_LABELS.get(view.status, "不明な状態"),
        "reason_label": DECLINE_REASONS.get(view.status_reason, "その他") if view.status_reason else "",
        "unit_name": packet.unit_name,
        "chief_complaint": packet.chief_complaint,
        "sent_at": packet.sent_at,
        "eta_minutes": packet.eta_minutes,
        "eta_at": eta_deadline(view),
        "department": department,
        "department_label": DEPARTMENTS.get(department, "未設定"),
        "department_chosen": bool(note and note.department),
        "team": note.team if note else "",
        "has_summary": packet.summary is not None,
        "jcs": latest_vitals.jcs if latest_vitals else None,
        "outcome_label": SEVERITIES.get(view.outcome.severity, "") if view.outcome else "",
        "patient": None,
    }
    if show_patient and packet.summary is not None:
        patient = packet.summary.patient
        row["patient"] = {
            "name": f"{patient.family_name} {patient.given_name}",
            "age": age_on(patient.birth_date, date.today()),
            "sex": {"1": "男", "2": "女"}.get(patient.sex, "性別不明"),
            "high_risk": sorted({item.high_risk for item in packet.summary.medications if item.high_risk}),
            "allergy_count": len(packet.summary.allergies),
        }

    return row
