"""Evidence bundles: a report with everything needed to recompute and prove it offline.

A bundle holds the report (figures and basis), the signed checkpoint, the catalogue version with its
ledger record and inclusion proof, and every statement the figures were computed from with its inclusion
proof at the checkpoint. `footprint verify report` checks the signature and every proof, then recomputes
the figures with the same indicator code and compares. Proofs show that every counted statement is genuine
and in the log; they cannot show that none was left out (a Merkle log proves inclusion, not absence).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.store import document_of
from footprint.compliance.report import group_report, held_classes, programme_report
from footprint.facts.columns import Facts, load_facts
from footprint.indicators.owners import facts_of
from footprint.ledger import Ledger
from footprint.reports import Basis, FootprintNotFound, index_of, jsonable, one_learner
from footprint.vocabulary import Category
from footprint.xapi.statements import STATEMENTS

FORMAT = "proctor-kz/footprint-evidence/1"


def _statements(db: Session, ledger: Ledger, where: Basis, facts: Facts) -> list[dict[str, Any]]:
    """The stored statements behind some facts, in ledger order, each with its inclusion proof."""
    seqs = [int(s) for s in facts.seq]
    rows: list[Any] = []
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
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


def learner_bundle(db: Session, ledger: Ledger, where: Basis, learner_id: str) -> dict[str, Any]:
    """A learner's indicators with the learner's statements and their proofs."""
    figures, facts = one_learner(db, where, learner_id)
    return {
        **_common(db, ledger, where),
        "scope": {"kind": "learner", "id": learner_id},
        "report": jsonable(figures),
        "statements": _statements(db, ledger, where, facts),
    }


def teachers_meeting_facts(db: Session, where: Basis, index: CatalogueIndex) -> Facts:
    """The teachers' meeting statements (whether a synchronous class was held depends on nothing else)."""
    people = list(index.teacher_terms.values())
    actors = [t for p in people for t in p.actors]
    loaded = load_facts(db, where.college_id, where.tree_size, actors, [a for p in people for a in p.aliases])
    wanted = {
        int(s) for p in people for f in [facts_of(loaded, index, p)] for s in f.seq[f.category == Category.MEETING]
    }
    return loaded.pick(np.flatnonzero(np.isin(loaded.seq, sorted(wanted))))


def compliance_bundle(db: Session, ledger: Ledger, where: Basis, scope: str, item: str) -> dict[str, Any]:
    """A group's or programme's compliance report with the teachers' meeting statements and their proofs."""
    index = index_of(where.catalogue)
    known = index.groups if scope == "group" else index.programmes
    if item not in known:
        raise FootprintNotFound(f"no {scope} {item} in catalogue version {where.catalogue.version}")
    facts = teachers_meeting_facts(db, where, index)
    held = held_classes(index, facts, where.period)
    report = (
        group_report(index, item, where.period, held)
        if scope == "group"
        else programme_report(index, item, where.period, held)
    )
    return {
        **_common(db, ledger, where),
        "scope": {"kind": scope, "id": item},
        "report": jsonable(report),
        "statements": _statements(db, ledger, where, facts),
    }
