"""Background work under APScheduler: drain the outbox, probe the hub, refresh answers, purge.

One job runs every ``SYNC_SECONDS`` (never two at once). Each tick opens its own app
context, so the web threads and the scheduler share nothing but the database.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app

from field_unit import outbox, retention
from field_unit.hospitals import refresh_hospital_cache
from field_unit.hub_link import hub_client, hub_reachable, registration
from field_unit.models import Incident, SentPacket, db, utcnow
from field_unit.transfers import refresh_answers
from hub.client import HubError

logger = logging.getLogger(__name__)

HOSPITAL_REFRESH = timedelta(minutes=30)
# APScheduler logs "Running job" and "executed successfully" at INFO on every tick
# (two lines every SYNC_SECONDS); its missed runs and job errors stay visible at WARNING.
APSCHEDULER_EXECUTOR_LOGGER = "apscheduler.executors.default"


def start_scheduler(app: Flask) -> BackgroundScheduler:
    logging.getLogger(APSCHEDULER_EXECUTOR_LOGGER).setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(
        lambda: tick(app),
        "interval",
        seconds=app.config["SYNC_SECONDS"],
        id="field_unit_sync",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    logger.info("sync scheduler started, every %.1f s", app.config["SYNC_SECONDS"])
    return scheduler


def tick(app: Flask) -> None:
    """Run one round of background work. Every error is logged and none stops the scheduler."""
    with app.app_context():
        try:
            _tick()
        except Exception:  # noqa: BLE001 - a failed tick must not kill the scheduler thread
            db.session.rollback()
            logger.exception("sync tick failed")
        finally:
            db.session.remove()


def _tick() -> None:
    result = outbox.drain()
    logger.debug("sync tick: %d sent, %d rejected, stopped by %s", result.sent, result.rejected, result.stopped_by)
    if result.stopped_by in ("backoff", "hub_failed", "busy", "not_registered"):
        retention.purge_expired()
        return

    if not _probe():
        retention.purge_expired()
        return

    _refresh_open_incidents()
    if refresh_due():
        refresh_hospital_cache_quietly()
    retention.purge_expired()


def _probe() -> bool:
    """Update the connection state when the queue is empty, so the screen stays truthful."""
    registered = registration()
    if registered is None:
        return False

    state = outbox.sync_state()
    online = hub_reachable(registered[0], current_app.config["HUB_TIMEOUT_SECONDS"])
    state.connection = "online" if online else "offline"
    state.last_attempt_at = utcnow()
    if online:
        state.last_sync_at = state.last_attempt_at
    db.session.commit()
    return online


def _refresh_open_incidents() -> None:
    incident_ids = db.session.execute(
        db.select(SentPacket.incident_id).join(Incident, Incident.id == SentPacket.incident_id).where(Incident.purged_at.is_(None)).distinct()
    ).scalars()
    client = hub_client()
    for incident_id in list(incident_ids):
        try:
            refresh_answers(client, incident_id)
        except HubError as exc:
            logger.info("answers for incident %s not refreshed: %s", incident_id, exc.code)
            return


def refresh_due() -> bool:
    from field_unit.models import CachedHospital

    newest = db.session.scalar(db.select(db.func.max(CachedHospital.fetched_at)))
    return newest is None or utcnow() - newest.replace(tzinfo=utcnow().tzinfo) > HOSPITAL_REFRESH


def refresh_hospital_cache_quietly() -> None:
    try:
        refresh_hospital_cache(hub_client())
    except HubError as exc:
        logger.info("hospital list not refreshed: %s", exc.code)
