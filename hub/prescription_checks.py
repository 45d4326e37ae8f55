"""Prescription checks against current medication: 重複投薬 and 併用禁忌.

重複投薬 (duplicate medication) is the same ingredient by the same route.
併用禁忌 (contraindicated combination) comes from a rule table (format in
docs/rules-format.md). A drug counts as current from its dispensing date for
its days' supply; when the days cannot be computed (0 or missing, as for
topical or as-needed drugs) it counts for 14 days, as the 電子処方箋 service does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from hub.contract import InteractionItem
from hub.models import Medication, db

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "rules" / "contraindications.csv"
UNCOMPUTABLE_DURATION_DAYS = 14
RULE_COLUMNS = ("ingredient_a", "ingredient_b", "route_a", "route_b", "reason", "source")


class RuleFileError(ValueError):
    """The rule table has a missing column, an empty required field or no source."""


@dataclass(frozen=True)
class ContraindicationRule:
    ingredient_a: str
    ingredient_b: str
    route_a: str
    route_b: str
    reason: str
    source: str

    def matches(self, ingredient: str, route: str, other_ingredient: str, other_route: str) -> bool:
        return _side_matches(self.ingredient_a, self.route_a, ingredient, route) and _side_matches(
            self.ingredient_b, self.route_b, other_ingredient, other_route
        )


@dataclass(frozen=True)
class ProposedDrug:
    name: str
    ingredient: str
    route: str


def _side_matches(rule_ingredient: str, rule_route: str, ingredient: str, route: str) -> bool:
    # Rule ingredients are matched as substrings, so "ミコナゾール" also matches "ミコナゾール硝酸塩".
    return rule_ingredient in ingredient and (not rule_route or rule_route == route)


def parse_rules(text: str, origin: str = "rules") -> list[ContraindicationRule]:
    """Parse a rule table; raise RuleFileError naming the line of the first bad row."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [column for column in RULE_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise RuleFileError(f"{origin}: missing column(s) {', '.join(missing)}")

    rules = []
    for number, row in enumerate(reader, start=2):
        values = {column: (row.get(column) or "").strip() for column in RULE_COLUMNS}
        for required in ("ingredient_a", "ingredient_b", "reason", "source"):
            if not values[required]:
                raise RuleFileError(f"{origin}: data row {number - 1}: {required} is empty")

        rules.append(ContraindicationRule(**values))

    return rules


@lru_cache(maxsize=4)
def load_rules(path: str) -> tuple[ContraindicationRule, ...]:
    return tuple(parse_rules(Path(path).read_text(encoding="utf-8"), origin=path))


def current_medications(patient_id: int, today: date) -> list[Medication]:
    """Medications whose days' supply (or 14 days when uncomputable) reaches ``today``."""
    earliest = today - timedelta(days=366)
    rows = db.session.execute(
        db.select(Medication).where(Medication.patient_id == patient_id, Medication.dispensed_on >= earliest)
    ).scalars()
    return [row for row in rows if taking_until(row.dispensed_on, row.days) >= today]


def taking_until(dispensed_on: date, days: int | None) -> date:
    duration = days if days and days > 0 else UNCOMPUTABLE_DURATION_DAYS
    return dispensed_on + timedelta(days=duration - 1)


def check(proposed: list[ProposedDrug], current: list[Medication], rules: tuple[ContraindicationRule, ...]) -> dict:
    duplicates = []
    contraindications = []
    for drug in proposed:
        for taken in current:
            if drug.ingredient == taken.ingredient and drug.route == taken.route:
                duplicates.append({"proposed": drug.name, "current": taken.drug_name, "ingredient": drug.ingredient,
                                   "route": drug.route, "hospital_name": taken.hospital_name})

            for rule in rules:
                if rule.matches(drug.ingredient, drug.route, taken.ingredient, taken.route) or rule.matches(
                    taken.ingredient, taken.route, drug.ingredient, drug.route
                ):
                    contraindications.append({"proposed": drug.name, "current": taken.drug_name,
                                              "reason": rule.reason, "source": rule.source})

    return {"duplicates": duplicates, "contraindications": contraindications}


@dataclass(frozen=True)
class CurrentDrug:
    """A current medication as the summary's interaction check needs it."""

    name: str
    ingredient: str
    route: str
    hospital_name: str


DUPLICATE_SOURCE = "重複投薬チェック(同一成分・同一投与経路)"


def interactions_between(current: list[CurrentDrug], rules: tuple[ContraindicationRule, ...]) -> list[InteractionItem]:
    """Check every pair of current medications for 重複投薬 and 併用禁忌, each pair of drug names once.

    A duplicate needs two different prescribing institutions: the same
    institution's overlapping refills, and the claims record of an e-prescription
    that is also listed, are one treatment and not a duplicate.
    """
    found: dict[tuple[str, str, str], InteractionItem] = {}
    for index, first in enumerate(current):
        for second in current[index + 1:]:
            if first.name == second.name and first.hospital_name == second.hospital_name:
                continue

            pair = tuple(sorted((first.name, second.name)))
            if _is_duplicate(first, second):
                found.setdefault(("重複投薬", *pair), InteractionItem(
                    kind="重複投薬", drug_a=first.name, drug_b=second.name, source=DUPLICATE_SOURCE,
                    reason=f"{first.ingredient}({first.route})",
                ))

            rule = _contraindication(first, second, rules)
            if rule is not None:
                found.setdefault(("併用禁忌", *pair), InteractionItem(
                    kind="併用禁忌", drug_a=first.name, drug_b=second.name, source=rule.source, reason=rule.reason,
                ))

    return list(found.values())


def _is_duplicate(first: CurrentDrug, second: CurrentDrug) -> bool:
    same_treatment = first.ingredient == second.ingredient and first.route == second.route
    return same_treatment and first.hospital_name != second.hospital_name


def _contraindication(first: CurrentDrug, second: CurrentDrug, rules: tuple[ContraindicationRule, ...]) -> ContraindicationRule | None:
    for rule in rules:
        if rule.matches(first.ingredient, first.route, second.ingredient, second.route) or rule.matches(
            second.ingredient, second.route, first.ingredient, first.route
        ):
            return rule

    return None
