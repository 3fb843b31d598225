"""Facts for statements stored before the projection existed (run by migration 0010, safe to run again), and
the proctoring results re-judged by their authority (migration 0012).

Statements are read in `seq` order in chunks and projected exactly as new ones are; a statement that
already has its fact is skipped, so nothing is counted twice and nothing accepted is left out.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, select, update

from footprint.facts.project import FACTS, record_facts
from footprint.vocabulary import Kind, statement_kind
from footprint.xapi.statements import STATEMENTS

logger = logging.getLogger(__name__)

CHUNK = 5000


def backfill_facts(connection: Connection) -> int:
    """Project every stored statement that has no fact yet; returns how many were projected."""
    done = 0
    after = 0
    while True:
        rows = connection.execute(
            select(STATEMENTS.c.seq, STATEMENTS.c.college_id, STATEMENTS.c.ledger_index, STATEMENTS.c.payload)
            .outerjoin(FACTS, FACTS.c.seq == STATEMENTS.c.seq)
            .where(STATEMENTS.c.seq > after, FACTS.c.seq.is_(None))
            .order_by(STATEMENTS.c.seq)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        by_college: dict[str, list[tuple[int, int, dict[str, object]]]] = {}
        for row in rows:
            by_college.setdefault(row.college_id, []).append((row.seq, row.ledger_index, json.loads(row.payload)))
        for college_id, items in by_college.items():
            record_facts(connection, college_id, items)
        done += len(rows)
        after = rows[-1].seq
    if done:
        logger.info("projected %d earlier statements into facts", done)
    return done


def reclassify_proctoring(connection: Connection) -> int:
    """Facts once counted as proctoring results whose statement the platform's proctoring did not write (a college's
    key sent it) become `UNTRUSTED_PROCTORING`; returns how many. The statements themselves stay as they are."""
    trusted = (int(Kind.PROCTORED), int(Kind.VERDICT))
    changed = 0
    after = 0
    while True:
        rows = connection.execute(
            select(STATEMENTS.c.seq, STATEMENTS.c.payload)
            .join(FACTS, FACTS.c.seq == STATEMENTS.c.seq)
            .where(STATEMENTS.c.seq > after, FACTS.c.kind.in_(trusted))
            .order_by(STATEMENTS.c.seq)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        untrusted = [row.seq for row in rows if statement_kind(json.loads(row.payload)) == Kind.UNTRUSTED_PROCTORING]
        if untrusted:
            connection.execute(
                update(FACTS).where(FACTS.c.seq.in_(untrusted)).values(kind=int(Kind.UNTRUSTED_PROCTORING))
            )
        changed += len(untrusted)
        after = rows[-1].seq
    if changed:
        logger.info("%d proctoring results sent without the platform's authority are no longer counted", changed)
    return changed
