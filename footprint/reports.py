"""Indicators and compliance computed at a signed checkpoint, for one college, as reports that name their basis.

Every report states the checkpoint it was computed at (tree size, root hash and the signed note), the
indicator version and the catalogue version (number and SHA-256): the catalogue in force at a checkpoint is
the newest version whose ledger leaf the checkpoint's tree holds, and only statements whose leaves it holds
count (a statement that arrives late counts at its `timestamp`, from the first checkpoint that holds it).
The same basis and period always give the same figures.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.catalogue.checks import time_problems, time_zones
from footprint.catalogue.index import CatalogueIndex, epoch
from footprint.catalogue.model import FIRST_YEAR, LAST_YEAR, Catalogue
from footprint.catalogue.store import CatalogueVersion, latest_catalogue
from footprint.compliance.report import (
    ComplianceReport,
    group_report,
    held_classes,
    learner_report,
    programme_report,
)
from footprint.compliance.rules import rules_digest
from footprint.compliance.weather import WeatherDay, weather_day
from footprint.facts.columns import Facts, latest_fact_index, load_facts
from footprint.indicators import INDICATOR_VERSION
from footprint.indicators.college import CollegeIndicators, college_indicators
from footprint.indicators.learners import LearnerIndicators, learner_indicators
from footprint.indicators.owners import facts_of
from footprint.indicators.period import Period
from footprint.ledger import Ledger, SignedCheckpoint
from footprint.ledger.tables import CheckpointRow
from footprint.store.times import as_utc

DEFAULT_SPAN = timedelta(days=30)
MAX_SPAN = timedelta(days=6 * 366)
"""The longest period a report covers: a whole TVET study period (up to about four years) or a bachelor's with
room to spare. A report over centuries would only cost memory (one row per week) and overflow calendars."""
CACHE_SIZE = 2


class FootprintNotFound(LookupError):
    """No such learner, group, programme or teacher in the catalogue, no catalogue, or no such checkpoint."""


class FootprintBadRequest(ValueError):
    """A period or parameter that cannot be used."""


@dataclass(frozen=True)
class Basis:
    """What a report was computed from."""

    college_id: str
    checkpoint: SignedCheckpoint
    signed_at: datetime
    catalogue: CatalogueVersion
    period: Period
    source: str = "asked"
    """Where the period's start came from: `asked` (the request's `since`), `term` (the catalogue's term in force),
    `first class` (the timetable's first class, for a catalogue without terms) or `30 days` (no timetable)."""

    @property
    def tree_size(self) -> int:
        return self.checkpoint.checkpoint.tree_size

    def to_json(self) -> dict[str, Any]:
        cp = self.checkpoint.checkpoint
        return {
            "checkpoint": {
                "origin": cp.origin,
                "treeSize": cp.tree_size,
                "rootHash": base64.b64encode(cp.root_hash).decode(),
                "signedAt": self.signed_at.astimezone(UTC).isoformat(),
                "note": self.checkpoint.note,
            },
            "indicatorVersion": INDICATOR_VERSION,
            "rules": {"sha256": rules_digest()},
            "catalogue": {
                "version": self.catalogue.version,
                "sha256": self.catalogue.digest,
                "ledgerIndex": self.catalogue.ledger_index,
            },
            "period": {**self.period.to_json(), "source": self.source},
        }


def jsonable(value: Any) -> Any:
    """Dataclasses (and what they hold) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _signed_at(db: Session, tree_size: int) -> datetime:
    moment = db.scalar(select(CheckpointRow.signed_at).where(CheckpointRow.tree_size == tree_size))
    if moment is None:
        raise FootprintNotFound(f"no signed checkpoint of tree size {tree_size}")
    return as_utc(moment)


def checkpoints(db: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The newest signed checkpoints (tree size, root, when), for choosing one to compute at."""
    rows = db.execute(select(CheckpointRow).order_by(CheckpointRow.tree_size.desc()).limit(limit)).scalars()
    return [
        {
            "treeSize": row.tree_size,
            "rootHash": base64.b64encode(row.root_hash).decode(),
            "signedAt": as_utc(row.signed_at).isoformat(),
        }
        for row in rows
    ]


INDEX_CACHE = 8
_indexes: OrderedDict[str, CatalogueIndex] = OrderedDict()
_indexes_lock = threading.Lock()


def index_of(version: CatalogueVersion) -> CatalogueIndex:
    """The lookups of a catalogue version, built once per process (a version never changes)."""
    with _indexes_lock:
        found = _indexes.get(version.digest)
        if found is None:
            found = _indexes[version.digest] = CatalogueIndex(version.catalogue)
            while len(_indexes) > INDEX_CACHE:
                _indexes.popitem(last=False)
        _indexes.move_to_end(version.digest)
        return found


def default_period(index: CatalogueIndex, until: int) -> int:
    """The start of the default period: the timetable's first class (at most `MAX_SPAN` before its end), else
    30 days before its end."""
    starts = [c.start for c in index.classes] + [epoch(a.due) for a in index.catalogue.assignments]
    if not starts or min(starts) >= until:
        return until - int(DEFAULT_SPAN.total_seconds())
    return max(min(starts), until - int(MAX_SPAN.total_seconds()))


def check_moment(name: str, moment: datetime | date) -> None:
    """A period's bound (or a day) must lie in the years a catalogue may name."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise FootprintBadRequest(f"{name} must lie in the years {FIRST_YEAR}–{LAST_YEAR}, not {moment.isoformat()}")


def check_period(start: int, end: int) -> None:
    if end <= start:
        raise FootprintBadRequest("until must come after since")
    if end - start > MAX_SPAN.total_seconds():
        days = (end - start) // 86400
        raise FootprintBadRequest(f"a period covers at most {MAX_SPAN.days} days (six years); this one covers {days}")


def usable(version: CatalogueVersion) -> None:
    """A stored catalogue version the computations can use (one stored before import checks refused bad times)."""
    problems = time_problems(version.catalogue)
    if version.catalogue.timezone not in time_zones():
        problems.append(f"timezone {version.catalogue.timezone!r} is not an IANA time zone")
    if problems:
        found = "; ".join(problems[:5])
        raise FootprintBadRequest(
            f"catalogue version {version.version} cannot be used ({found}): import a corrected one"
        )


def basis(
    db: Session, ledger: Ledger, college_id: str, tree_size: int | None, since: datetime | None, until: datetime | None
) -> Basis:
    """The checkpoint (the given tree size, or the newest), the catalogue in force in it, and the period
    (default: from the timetable's first class to the checkpoint's signing)."""
    signed = ledger.latest_checkpoint(db) if tree_size is None else ledger.checkpoint_at(db, tree_size)
    if signed is None:
        raise FootprintNotFound(
            "no signed checkpoint" if tree_size is None else f"no signed checkpoint of tree size {tree_size}"
        )
    size = signed.checkpoint.tree_size
    catalogue = latest_catalogue(db, college_id, size)
    if catalogue is None:
        raise FootprintNotFound(f"the college had imported no catalogue at tree size {size}")
    usable(catalogue)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None:
            check_moment(name, moment)
    signed_at = _signed_at(db, size)
    end = epoch(until) if until else epoch(signed_at)
    source = "asked"
    if since:
        start = epoch(since)
    elif (term := term_period(catalogue.catalogue, end)) is not None:
        start, source = term[0], "term"
        if until is None and term[1] > start:
            end = min(end, term[1])  # a term that is over: the report covers it to its last day
    else:
        index = index_of(catalogue)
        start = default_period(index, end)
        source = "first class" if index.classes or index.catalogue.assignments else "30 days"
    check_period(start, end)
    return Basis(college_id, signed, signed_at, catalogue, Period(start, end), source)


def term_period(catalogue: Catalogue, until: int) -> tuple[int, int] | None:
    """The term in force at `until` (Unix seconds), else the newest that began before it: from the local midnight of
    its first day to the local midnight after its last (Unix seconds); None when the catalogue names no such term.
    Terms that overlap at `until` (groups on different calendars) count from the earliest start."""
    zone = zoneinfo.ZoneInfo(catalogue.timezone)

    def midnight(day: date) -> int:
        return int(datetime.combine(day, time(), zone).timestamp())

    begun = [(midnight(t.starts), midnight(t.ends + timedelta(days=1))) for t in catalogue.terms]
    begun = [(first, after) for first, after in begun if first < until]
    if not begun:
        return None
    current = [term for term in begun if term[1] >= until]
    if current:
        return min(first for first, _ in current), max(after for _, after in current)
    newest = max(after for _, after in begun)
    return min(first for first, after in begun if after == newest), newest


@dataclass(frozen=True)
class Computed:
    """A college's indicators at one basis (cached: the same basis always gives the same figures)."""

    basis: Basis
    index: CatalogueIndex
    facts: Facts
    indicators: CollegeIndicators
    held: dict[str, bool]


class ComputationCache:
    """The last few college-wide computations, by what their figures depend on. Thread-safe: one computation per
    key at a time, and a college's computation never waits for another's."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.computations = 0
        """How many computations were made (not found in the cache)."""
        self._items: OrderedDict[tuple[Any, ...], Computed] = OrderedDict()
        self._making: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def _found(self, key: tuple[Any, ...]) -> Computed | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def get(self, key: tuple[Any, ...], make: Callable[[], Computed]) -> Computed:
        found = self._found(key)
        if found is not None:
            return found
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # a second request for the same basis waits for the first one's result
            found = self._found(key)
            if found is not None:
                return found
            made = make()
            with self._lock:
                self.computations += 1
                self._items[key] = made
                self._making.pop(key, None)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return made


CACHE = ComputationCache()


def compute(db: Session, where: Basis) -> Computed:
    """All of the college's indicators at the basis. The figures depend on the college's own statements (its newest
    ledger index inside the checkpoint), its catalogue version and the period, not on the tree size: another
    college's statements between two checkpoints find the earlier computation, named with the later checkpoint."""
    latest = latest_fact_index(db, where.college_id, where.tree_size)
    key = (where.college_id, latest, where.catalogue.version, where.period)

    def make() -> Computed:
        index = index_of(where.catalogue)
        facts = load_facts(db, where.college_id, where.tree_size)
        indicators = college_indicators(index, facts, where.period)
        held = {c.class_id: c.held for t in indicators.teachers.values() for c in t.classes}
        if any(c.start < where.period.since for c in index.classes):  # the shares count from the first class
            held |= held_classes(index, facts, Period(min(c.start for c in index.classes), where.period.since))
        return Computed(where, index, facts, indicators, held)

    found = CACHE.get(key, make)
    return dataclasses.replace(found, basis=where)  # the same figures, named with the checkpoint asked for


def one_learner(db: Session, where: Basis, learner_id: str) -> tuple[LearnerIndicators, Facts]:
    """One learner's indicators, reading only that learner's facts (what the learner's page needs)."""
    index = index_of(where.catalogue)
    learner = index.learners.get(learner_id)
    if learner is None:
        raise FootprintNotFound(f"no learner {learner_id} in catalogue version {where.catalogue.version}")
    terms = index.learner_terms[learner_id]
    loaded = load_facts(db, where.college_id, where.tree_size, terms.actors, terms.aliases)
    own = facts_of(loaded, index, terms)
    return learner_indicators(index, learner, own, where.period), own


def compliance(computed: Computed, scope: str, item: str) -> ComplianceReport:
    """The compliance report of a programme, group or learner at the computation's basis."""
    index, period, held = computed.index, computed.basis.period, computed.held
    known: dict[str, dict[str, Any]] = {"programme": index.programmes, "group": index.groups, "learner": index.learners}
    if item not in known[scope]:
        raise FootprintNotFound(f"no {scope} {item} in catalogue version {computed.basis.catalogue.version}")
    make = {"programme": programme_report, "group": group_report, "learner": learner_report}[scope]
    return make(index, item, period, held)


def weather(computed: Computed, day: date) -> WeatherDay:
    check_moment("the day", day)
    return weather_day(computed.index, computed.facts, day)
