"""Evidence bundles: any report with everything needed to recompute and prove it offline.

A bundle holds the report (figures and basis, with the digest of the rule tables used), the signed checkpoint,
the catalogue version with its ledger record and inclusion proof, and every statement the figures rest on with
its inclusion proof at the checkpoint. `footprint verify report` checks the signature and every proof, then
recomputes the figures with the same code (`footprint/recompute.py`) and compares. Which statements a report
rests on:

- a learner's indicators: the learner's statements; a group's or programme's: those of each of its learners;
- a teacher's indicators: the teacher's own, the grades naming the teacher as instructor, and the submissions and
  grades of the work the teacher marks;
- compliance (learner, group, programme): the teachers' meeting statements and logins, which decide which
  synchronous classes were held — nothing else enters the rules;
- an adverse-weather day: the meeting statements, logins and submissions of the groups' learners, and the
  teachers' meeting statements and logins.

Proofs show that every counted statement is genuine and in the log; they cannot show that none was left out (a
Merkle log proves inclusion, not absence).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.store import document_of
from footprint.compliance.weather import weather_episodes
from footprint.facts.columns import Facts
from footprint.indicators.college import programme_members
from footprint.indicators.owners import NOBODY, owners
from footprint.ledger import Ledger
from footprint.recompute import Scope, UnknownScope, check_scope, recompute
from footprint.reports import Basis, FootprintNotFound, compute, index_of, jsonable, one_learner
from footprint.vocabulary import Category, Kind, module_id
from footprint.xapi.statements import STATEMENTS

FORMAT = "proctor-kz/footprint-evidence/2"
PROOF_CHUNK = 500


def _statements(db: Session, ledger: Ledger, where: Basis, facts: Facts) -> list[dict[str, Any]]:
    """The stored statements behind some facts, in ledger order, each with its inclusion proof."""
    seqs = [int(s) for s in facts.seq]
    rows: list[Any] = []
    for start in range(0, len(seqs), PROOF_CHUNK):
        chunk = seqs[start : start + PROOF_CHUNK]
        rows += db.execute(
            select(STATEMENTS.c.ledger_index, STATEMENTS.c.payload).where(STATEMENTS.c.seq.in_(chunk))
        ).all()
    rows.sort(key=lambda row: row.ledger_index)
    return [
        {
            "statement": json.loads(row.payload),
            "proof": ledger.inclusion_proof(db, int(row.ledger_index), where.tree_size).to_json(),
        }
        for row in rows
    ]


def _owned(facts: Facts, index: CatalogueIndex, people: list[Any], teachers: bool) -> NDArray[np.bool_]:
    terms = index.teacher_terms if teachers else index.learner_terms
    return np.asarray(owners(facts, index, [terms[p.id] for p in people]) != NOBODY, dtype=np.bool_)


def _attendance(facts: Facts) -> NDArray[np.bool_]:
    """What attendance is read from: meeting statements, attendance records, and logins (the missing leave)."""
    return np.asarray((facts.category == Category.MEETING) | np.isin(facts.kind, (Kind.ATTENDED, Kind.LOGIN)))


def _teachers_attendance(facts: Facts, index: CatalogueIndex) -> NDArray[np.bool_]:
    return _owned(facts, index, index.catalogue.teachers, teachers=True) & _attendance(facts)


def _graded_work(facts: Facts, index: CatalogueIndex, teacher_id: str) -> NDArray[np.bool_]:
    """The teacher's own statements, the grades naming the teacher, and the work on what the teacher marks."""
    own = _owned(facts, index, [index.teachers[teacher_id]], teachers=True)
    actors = [facts.term(t) for t in index.teacher_terms[teacher_id].actors if facts.term(t)]
    graded = (facts.kind == Kind.SCORED) & np.isin(facts.instructor, actors)
    taught = {(c.session.group, c.discipline.code) for c in index.classes_by_teacher.get(teacher_id, [])}
    tasks = {
        facts.term(module_id(task.activity))
        for group, code in taught
        for task in index.assignments_for(group)
        if task.discipline == code
    }
    marked = tasks | {int(o) for o in facts.object[graded]}
    work = np.isin(facts.kind, (Kind.SUBMITTED, Kind.SCORED)) & np.isin(facts.object, sorted(marked - {0}))
    return np.asarray(own | graded | work, dtype=np.bool_)


def evidence_facts(facts: Facts, index: CatalogueIndex, scope: Scope) -> Facts:
    """The college's facts a report rests on (see the module's docstring)."""
    if scope.report == "compliance":
        return facts.pick(_teachers_attendance(facts, index))
    if scope.report == "weather-day":
        groups = {e.group for e in weather_episodes(index, date.fromisoformat(scope.id))}
        members = [p for g in sorted(g for g in groups if g) for p in index.learners_by_group.get(g, [])]
        work = _attendance(facts) | (facts.kind == Kind.SUBMITTED)
        return facts.pick((_owned(facts, index, members, teachers=False) & work) | _teachers_attendance(facts, index))
    if scope.kind == "teacher":
        return facts.pick(_graded_work(facts, index, scope.id))
    learners = {
        "learner": lambda: [index.learners[scope.id]],
        "group": lambda: list(index.learners_by_group.get(scope.id, [])),
        "programme": lambda: programme_members(index, scope.id),
    }[scope.kind]()
    return facts.pick(_owned(facts, index, learners, teachers=False))


def _common(db: Session, ledger: Ledger, where: Basis) -> dict[str, Any]:
    version = where.catalogue
    return {
        "format": FORMAT,
        "college": where.college_id,
        "basis": where.to_json(),
        "catalogue": {
            "document": json.loads(document_of(version.catalogue)),
            "record": version.record(),
            "proof": ledger.inclusion_proof(db, version.ledger_index, where.tree_size).to_json(),
        },
    }


def evidence_bundle(db: Session, ledger: Ledger, where: Basis, scope: Scope) -> dict[str, Any]:
    """A report with the statements it rests on and their proofs; its figures are computed from exactly those
    statements, as the verifier will."""
    index = index_of(where.catalogue)
    try:
        check_scope(index, scope)
    except UnknownScope as exc:
        raise FootprintNotFound(f"{exc} (catalogue version {where.catalogue.version})") from exc
    if scope.report == "indicators" and scope.kind == "learner":
        figures, facts = one_learner(db, where, scope.id)  # that learner's own index rows: no college-wide load
        report = jsonable(figures)
    else:
        facts = evidence_facts(compute(db, where).facts, index, scope)
        report = jsonable(recompute(index, facts, scope, where.period))
    return {
        **_common(db, ledger, where),
        "scope": scope.to_json(),
        "report": report,
        "statements": _statements(db, ledger, where, facts),
    }
