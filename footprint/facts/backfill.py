"""Facts for statements stored before the projection existed (run by migration 0010, safe to run again).

Statements are read in `seq` order in chunks and projected exactly as new ones are; a statement that
already has its fact is skipped, so nothing is counted twice and nothing accepted is left out.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, select

from footprint.facts.project import FACTS, record_facts
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
