"""The result of one import run and the progress callback the CLI shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not stored. ``location`` is a CSV line number or a FHIR entry such as ``entry[3]``."""

    source: str
    location: str
    reason: str


@dataclass
class ImportReport:
    """Counts of one import run; ``rejected`` lists every row that was not stored."""

    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def reject(self, source: str, location: str | int, reason: str) -> None:
        self.rejected.append(RejectedRow(source, str(location), reason))

    def merge(self, other: "ImportReport") -> None:
        self.rows += other.rows
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.rejected.extend(other.rejected)

    @property
    def stored(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True)
class Progress:
    """Rows processed so far out of ``total`` (the data rows counted before the import started)."""

    kind: str
    processed: int
    total: int
    rejected: int


ProgressCallback = Callable[[Progress], None]


def no_progress(progress: Progress) -> None:
    """A progress callback that shows nothing, for library callers and tests."""
