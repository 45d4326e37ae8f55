"""The background sync job's logging: an idle tick writes nothing at INFO."""

from __future__ import annotations

import logging
import time

from field_unit.sync import start_scheduler


def test_idle_ticks_quiet_at_info(field_app, caplog) -> None:
    caplog.set_level(logging.INFO)
    field_app.config["SYNC_SECONDS"] = 0.1
    scheduler = start_scheduler(field_app)
    time.sleep(0.6)
    scheduler.shutdown(wait=True)

    noisy = [record.getMessage() for record in caplog.records if record.name.startswith("apscheduler.executors")]
    assert noisy == [], f"scheduler logged every tick at INFO: {noisy[:2]}"
