"""Rule tables: the limits of the rules as versioned, dated data (`rules/*.json`), never code constants.

A table holds versions, each in force from its `effective_from` date; a period is judged by the version in
force on its last day (a report names table, version and source). Each check names its clause, what it
applies to (level, forms, fields), the measure the code computes and the limit. Tables are checked by
pydantic when loaded: a malformed table stops the computation with a clear message.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from footprint.catalogue.model import DocumentKind, FieldOfStudy, Form, Ground, Level, Programme, Recognition
from footprint.ledger.entries import canonical

RULES_DIR = Path(__file__).parent / "rules"
Measure = Literal[
    "synchronous_share",
    "distance_share",
    "distance_hours",
    "distance_hours_outside_approved_list",
    "episodes_without_evidence",
    "distance_credit_share",
    "recognised_credit_share",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applies(Strict):
    """Which programmes a check is about (every condition given must hold)."""

    level: Level
    forms: list[Form] | None = None
    fields: list[FieldOfStudy] | None = None
    fields_not: list[FieldOfStudy] | None = None

    def matches(self, programme: Programme) -> bool:
        return (
            programme.level == self.level
            and (self.forms is None or programme.form in self.forms)
            and (self.fields is None or programme.field in self.fields)
            and (self.fields_not is None or programme.field not in self.fields_not)
        )


class GroundRule(Strict):
    clause: str
    documents: list[list[DocumentKind]] = Field(
        description="Every inner list is one required piece of evidence: any one of its kinds will do."
    )


class Check(Strict):
    id: str
    title: str
    clause: str
    applies: Applies
    measure: Measure
    at_least_percent: float | None = None
    at_most_percent: float | None = None
    at_most_hours: float | None = None
    at_most_episodes: int | None = None
    at_risk_margin: float = Field(0, description="Percentage points inside the limit that count as at risk.")
    excludes_practice: bool = False
    not_counted_grounds: list[Ground] = Field(default_factory=list)
    exempt_grounds: list[Ground] = Field(default_factory=list)
    recognition: list[Recognition] = Field(default_factory=list)
    grounds: dict[Ground, GroundRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_limit(self) -> Check:
        limits = [self.at_least_percent, self.at_most_percent, self.at_most_hours, self.at_most_episodes]
        if sum(limit is not None for limit in limits) != 1:
            raise ValueError(f"check {self.id} needs exactly one limit")
        return self


class RuleVersion(Strict):
    version: str
    effective_from: date
    source: str
    checks: list[Check]


class RuleTable(Strict):
    table: str
    title: str
    versions: list[RuleVersion] = Field(min_length=1)

    def in_force(self, day: date) -> RuleVersion | None:
        """The version in force on `day` (None before the first)."""
        found = [v for v in self.versions if v.effective_from <= day]
        return max(found, key=lambda v: v.effective_from) if found else None


def load_table(path: Path) -> RuleTable:
    return RuleTable.model_validate_json(path.read_text(encoding="utf-8"))


@functools.cache
def rule_tables(folder: Path = RULES_DIR) -> tuple[RuleTable, ...]:
    """Every rule table shipped in `folder` (the package's own by default), read once."""
    return tuple(load_table(path) for path in sorted(folder.glob("*.json")))


@functools.cache
def rules_digest(folder: Path = RULES_DIR) -> str:
    """The SHA-256 of the rule tables a computation uses (RFC 8785 of their JSON): every report names it, and the
    offline verifier recomputes only with the same tables."""
    tables = [table.model_dump(mode="json") for table in rule_tables(folder)]
    return hashlib.sha256(canonical({"tables": tables})).hexdigest()
