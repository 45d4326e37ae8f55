"""Store import rows by natural key, a batch per transaction, falling back to row by row.

A batch is one transaction, because committing every row of a 50,000-row file
would make the import many times slower. When a batch fails in the database,
its rows are stored one by one instead, so a single bad row is rejected with
its line number and the good rows of the batch are still stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import String
from sqlalchemy.exc import DataError, IntegrityError

from hub.importers.report import ImportReport
from hub.models import db

logger = logging.getLogger(__name__)

LineT = TypeVar("LineT", bound="ParsedLine")


@dataclass(frozen=True)
class ParsedLine:
    """One valid input row: where it came from, ready to store."""

    location: str


@dataclass
class Counts:
    """What a store call did. ``rejected`` holds (location, reason) of lines it could not store."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: "Counts") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)


class BatchWriter(Generic[LineT]):
    """Collect parsed lines and store them ``batch_size`` at a time with ``store``."""

    def __init__(self, store: Callable[[Sequence[LineT]], Counts], report: ImportReport, source: str,
                 batch_size: int = 1000) -> None:
        self._store = store
        self._report = report
        self._source = source
        self._batch_size = batch_size
        self._pending: list[LineT] = []

    def add(self, line: LineT) -> None:
        self._pending.append(line)
        if len(self._pending) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return

        batch, self._pending = self._pending, []
        try:
            counts = self._store(batch)
            db.session.commit()
        except (IntegrityError, DataError) as exc:
            db.session.rollback()
            logger.warning("import batch of %d rows from %s failed (%s); storing row by row",
                           len(batch), self._source, type(exc.orig).__name__)
            counts = self._store_one_by_one(batch)

        self._count(counts)

    def _store_one_by_one(self, batch: Sequence[LineT]) -> Counts:
        total = Counts()
        for line in batch:
            try:
                total.add(self._store([line]))
                db.session.commit()
            except (IntegrityError, DataError):
                db.session.rollback()
                self._report.reject(self._source, line.location, "データベースに保存できませんでした(値が制約に違反しています)")

        return total

    def _count(self, counts: Counts) -> None:
        self._report.inserted += counts.inserted
        self._report.updated += counts.updated
        self._report.unchanged += counts.unchanged
        for location, reason in counts.rejected:
            self._report.reject(self._source, location, reason)


def upsert_by_import_key(model: type, rows: Sequence[dict[str, Any]]) -> Counts:
    """Insert rows whose ``import_key`` is new and update the changed columns of the others.

    Keys must be unique within ``rows``; callers reject duplicate lines before this.
    """
    counts = Counts()
    if not rows:
        return counts

    keys = [row["import_key"] for row in rows]
    existing = {
        record.import_key: record
        for record in db.session.execute(db.select(model).where(model.import_key.in_(keys))).scalars()
    }

    new_rows = []
    for values in rows:
        record = existing.get(values["import_key"])
        if record is None:
            new_rows.append(values)
        elif _update_changed(record, values):
            counts.updated += 1
        else:
            counts.unchanged += 1

    if new_rows:
        db.session.execute(db.insert(model), new_rows)
        counts.inserted = len(new_rows)

    db.session.flush()
    return counts


def _update_changed(record: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(record, name) != value:
            setattr(record, name, value)
            changed = True

    return changed


def too_long_column(model: type, values: dict[str, Any]) -> str | None:
    """Return the name of a string column whose value exceeds its length, or None.

    SQLite does not enforce ``String(n)`` but PostgreSQL does, so the importer
    checks lengths itself and both backends reject the same rows.
    """
    columns = model.__table__.columns
    for name, value in values.items():
        column_type = columns[name].type
        if isinstance(value, str) and isinstance(column_type, String) and column_type.length is not None:
            if len(value) > column_type.length:
                return f"{name} ({column_type.length})"

    return None
