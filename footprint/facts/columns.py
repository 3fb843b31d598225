"""Facts as columns: numpy arrays the indicators compute on, from the database or from statements in hand.

Two sources give the same columns: `load_facts` reads the college's fact rows up to a checkpoint (voids
applied as of that checkpoint), `facts_from_statements` projects statements in memory (what the offline
verifier does with an evidence bundle). Terms (strings) are numbered per source; indicators look
catalogue strings up with `Facts.term`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from footprint.facts.project import FACT_FIELDS, FACTS, TERM_FIELDS, TERMS, Fact, project
from footprint.vocabulary import Kind
from footprint.xapi.statements import STATEMENTS, VOIDS

NO_TERM = 0
NO_FLAG = -1
FLOAT_FIELDS = ("raw", "low", "high", "duration_s")
FLAG_FIELDS = ("success", "completion", "late", "feedback", "verdict")
MISSING = -1.0e300  # SQL cannot hand NaN back portably: nulls come as this and become NaN
SPARSE_NAMES = ("alias", "verb", "instructor", "registration", *FLOAT_FIELDS, *FLAG_FIELDS)
"""Columns most facts leave empty: read only for the facts that fill one of them."""
SPARSE_COLUMNS = [FACTS.c[name] for name in SPARSE_NAMES]
SPARSE = [func.coalesce(column, MISSING) for column in SPARSE_COLUMNS]
DENSE = [
    FACTS.c.seq,
    FACTS.c.kind * 16 + FACTS.c.category,
    FACTS.c.at,
    func.coalesce(FACTS.c.actor, MISSING),
    func.coalesce(FACTS.c.object, MISSING),
    func.coalesce(FACTS.c.course, MISSING),
]
"""What every fact has, kind and category packed into one number: a million facts load as few values."""


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


def _columns(table: NDArray[np.float64], seqs: NDArray[np.int64], terms: Mapping[str, int]) -> Facts:
    """Facts from a (facts × FACT_FIELDS) table of numbers in which MISSING stands for null."""
    values: dict[str, Any] = {"seq": seqs.astype(np.int64)}
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


def latest_fact_index(db: Session, college_id: str, tree_size: int) -> int:
    """The ledger index of the college's newest statement (a void included) inside the tree of `tree_size` leaves,
    -1 before its first: the college's figures change only when this does (or its catalogue)."""
    found = db.scalar(
        select(func.max(FACTS.c.ledger_index)).where(FACTS.c.college_id == college_id, FACTS.c.ledger_index < tree_size)
    )
    return -1 if found is None else int(found)


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
    base = [FACTS.c.college_id == college_id, FACTS.c.kind != int(Kind.VOIDED)]
    if actors is None:
        searches = [[*base, FACTS.c.ledger_index < tree_size]]
    else:  # one indexed search per column (an OR of the two, or the ledger index, would scan the college)
        inside = (FACTS.c.ledger_index + 0) < tree_size
        actor_ids = [terms[t] for t in actors if t in terms]
        alias_ids = [terms[t] for t in aliases if t in terms]
        searches = [[*base, inside, FACTS.c.actor.in_(actor_ids)], [*base, inside, FACTS.c.alias.in_(alias_ids)]]
    filled = or_(*(column.is_not(None) for column in SPARSE_COLUMNS))
    dense = _merge([_fetch(db, select(*DENSE).where(*where), len(DENSE)) for where in searches])
    sparse = _merge(
        [_fetch(db, select(FACTS.c.seq, *SPARSE).where(*where, filled), len(SPARSE) + 1) for where in searches]
    )
    table = np.full((dense.shape[0], len(FACT_FIELDS)), MISSING)
    seqs = dense[:, 0].astype(np.int64)
    table[:, FACT_FIELDS.index("kind")] = dense[:, 1] // 16
    table[:, FACT_FIELDS.index("category")] = dense[:, 1] % 16
    for position, name in enumerate(("at", "actor", "object", "course"), start=2):
        table[:, FACT_FIELDS.index(name)] = dense[:, position]
    rows = np.searchsorted(seqs, sparse[:, 0].astype(np.int64))  # seqs come in order
    for position, name in enumerate(SPARSE_NAMES, start=1):
        table[rows, FACT_FIELDS.index(name)] = sparse[:, position]
    voided = voided_seqs(db, college_id, tree_size)
    if voided:
        kept = ~np.isin(seqs, np.fromiter(voided, dtype=np.int64))
        table, seqs = table[kept], seqs[kept]
    return _columns(table, seqs, terms)


def _merge(parts: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """Rows of several searches as one table in seq order, each fact once."""
    if len(parts) == 1:
        return parts[0]
    table = np.concatenate(parts)
    _, first = np.unique(table[:, 0], return_index=True)
    return table[first]


def _fetch(db: Session, query: Any, width: int) -> NDArray[np.float64]:
    """Rows of numbers straight from the driver's cursor into one array (no per-row objects on the way)."""
    result = db.connection().execute(query.order_by(FACTS.c.seq))
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


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
    rows: list[list[float]] = []
    for fact in projected:
        row: list[float] = []
        for name in FACT_FIELDS:
            value = getattr(fact, name)
            if name in TERM_FIELDS and value is not None:
                value = terms.setdefault(value, len(terms) + 1)
            row.append(MISSING if value is None else float(value))
        rows.append(row)
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FACT_FIELDS))
    facts = _columns(table, np.arange(1, len(rows) + 1, dtype=np.int64), terms)
    return facts.pick(facts.kind != Kind.VOIDED)
