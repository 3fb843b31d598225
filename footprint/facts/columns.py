"""Facts as columns: numpy arrays the indicators compute on, from the database or from statements in hand.

Two sources give the same columns: `load_facts` reads the college's fact rows up to a checkpoint (voids
applied as of that checkpoint), `facts_from_statements` projects statements in memory (what the offline
verifier does with an evidence bundle). Terms (strings) are numbered per source; indicators look
catalogue strings up with `Facts.term`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from footprint.facts.project import FACT_FIELDS, FACTS, TERM_FIELDS, TERMS, Fact, project
from footprint.vocabulary import Kind
from footprint.xapi.statements import STATEMENTS, VOIDS

NO_TERM = 0
NO_FLAG = -1
FLOAT_FIELDS = ("raw", "low", "high", "duration_s")
FLAG_FIELDS = ("success", "completion", "late", "feedback", "verdict")
MISSING = -1.0e300  # SQL cannot hand NaN back portably: nulls come as this and become NaN


@dataclass(frozen=True)
class Facts:
    """Parallel arrays, one entry per fact, in (ledger) order; term columns hold term ids (0: none)."""

    seq: NDArray[np.int64]
    kind: NDArray[np.int16]
    category: NDArray[np.int16]
    at: NDArray[np.int64]
    actor: NDArray[np.int64]
    alias: NDArray[np.int64]
    verb: NDArray[np.int64]
    object: NDArray[np.int64]
    course: NDArray[np.int64]
    instructor: NDArray[np.int64]
    registration: NDArray[np.int64]
    raw: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    duration_s: NDArray[np.float64]
    success: NDArray[np.int8]
    completion: NDArray[np.int8]
    late: NDArray[np.int8]
    feedback: NDArray[np.int8]
    verdict: NDArray[np.int8]
    terms: Mapping[str, int]
    """Term text → id, for every term these facts may use."""

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    def term(self, text: str | None) -> int:
        """The id of a term (NO_TERM when no fact can carry it)."""
        return NO_TERM if text is None else self.terms.get(text, NO_TERM)

    def pick(self, which: NDArray[Any]) -> Facts:
        """The facts a boolean mask or an array of positions selects (same terms)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name)[which] for f in fields(self) if f.name != "terms"}
        return Facts(**values, terms=self.terms)

    def texts(self) -> dict[int, str]:
        """Term id → text (for naming unknown verbs and unmatched actors)."""
        return {number: text for text, number in self.terms.items()}


def _columns(rows: Sequence[Sequence[float]], seqs: Sequence[int], terms: Mapping[str, int]) -> Facts:
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FACT_FIELDS))
    values: dict[str, Any] = {"seq": np.asarray(seqs, dtype=np.int64)}
    for position, name in enumerate(FACT_FIELDS):
        column = table[:, position]
        if name in FLOAT_FIELDS:
            values[name] = np.where(column == MISSING, np.nan, column)
        elif name in FLAG_FIELDS:
            values[name] = np.where(column == MISSING, NO_FLAG, column).astype(np.int8)
        elif name in ("kind", "category"):
            values[name] = column.astype(np.int16)
        else:
            values[name] = np.where(column == MISSING, NO_TERM, column).astype(np.int64)
    return Facts(**values, terms=dict(terms))


def voided_seqs(db: Session, college_id: str, tree_size: int) -> set[int]:
    """Seqs of the college's statements voided by a voiding statement inside the tree of `tree_size` leaves."""
    target = STATEMENTS.alias("target")
    voiding = STATEMENTS.alias("voiding")
    rows = db.execute(
        select(target.c.seq)
        .select_from(VOIDS)
        .join(target, and_(target.c.college_id == VOIDS.c.college_id, target.c.statement_id == VOIDS.c.voided_id))
        .join(voiding, and_(voiding.c.college_id == VOIDS.c.college_id, voiding.c.statement_id == VOIDS.c.voiding_id))
        .where(VOIDS.c.college_id == college_id, voiding.c.ledger_index < tree_size)
    )
    return {int(seq) for seq in rows.scalars()}


def college_terms(db: Session, college_id: str) -> dict[str, int]:
    return {
        row.text: int(row.id)
        for row in db.execute(select(TERMS.c.id, TERMS.c.text).where(TERMS.c.college_id == college_id))
    }


def load_facts(
    db: Session, college_id: str, tree_size: int, actors: Iterable[str] | None = None, aliases: Iterable[str] = ()
) -> Facts:
    """The college's facts inside the tree of `tree_size` leaves, voided ones left out; with `actors` (terms),
    only the facts of those actors and of meeting statements naming one of `aliases`."""
    terms = college_terms(db, college_id)
    query = select(FACTS.c.seq, *(FACTS.c[name] for name in FACT_FIELDS)).where(
        FACTS.c.college_id == college_id, FACTS.c.ledger_index < tree_size, FACTS.c.kind != int(Kind.VOIDED)
    )
    if actors is not None:
        actor_ids = [terms[t] for t in actors if t in terms]
        alias_ids = [terms[t] for t in aliases if t in terms]
        query = query.where(or_(FACTS.c.actor.in_(actor_ids), FACTS.c.alias.in_(alias_ids)))
    voided = voided_seqs(db, college_id, tree_size)
    seqs: list[int] = []
    rows: list[tuple[float, ...]] = []
    for row in db.execute(query.order_by(FACTS.c.ledger_index)):
        if row[0] in voided:
            continue
        seqs.append(row[0])
        rows.append(tuple(MISSING if value is None else value for value in row[1:]))
    return _columns(rows, seqs, terms)


def facts_from_statements(statements: Iterable[Mapping[str, Any]], college_id: str) -> Facts:
    """Facts of statements in hand (in the order given), voiding applied among them."""
    items = list(statements)
    voided = {
        str(s["object"]["id"]).lower()
        for s in items
        if s.get("verb", {}).get("id") == "http://adlnet.gov/expapi/verbs/voided"
    }
    kept = [s for s in items if str(s.get("id", "")).lower() not in voided]
    projected: list[Fact] = [project(s, college_id) for s in kept]
    terms: dict[str, int] = {}
    rows: list[tuple[float, ...]] = []
    for fact in projected:
        row: list[float] = []
        for name in FACT_FIELDS:
            value = getattr(fact, name)
            if name in TERM_FIELDS and value is not None:
                value = terms.setdefault(value, len(terms) + 1)
            row.append(MISSING if value is None else float(value))
        rows.append(tuple(row))
    facts = _columns(rows, list(range(1, len(rows) + 1)), terms)
    return facts.pick(facts.kind != Kind.VOIDED)
