"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def find_shared_data() -> Path:
    """The read-only public data: $MYNA_SHARED_DATA, else shared/data beside the clone."""
    configured = os.environ.get("MYNA_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    for candidate in candidates:
        if (candidate / "hospitals").is_dir():
            return candidate

    raise FileNotFoundError("shared/data not found beside the repository; set MYNA_SHARED_DATA")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return find_shared_data()
