"""Reading statements: by id, by voided id, and filtered queries paged by the store's sequence number.

Every read is a college's own: the college is the first column of every index used here. Every
filter (agent, verb, activity, registration) is a join on the key table, whose primary key
`(college_id, key, seq)` makes a page of the newest statements of one agent an index range scan
whatever the store's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from footprint.xapi.parts import Attachment
from footprint.xapi.statements import ACTIVITIES, KEYS, STATEMENTS, VOIDS
from footprint.xapi.tables import DIRECT, AttachmentRow, table


@dataclass(frozen=True)
class StatementQuery:
    """The filters of GET /statements, already checked and normalised (times in the `stored` format)."""

    agent_key: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_agents: bool = False
    related_activities: bool = False
    since: str | None = None
    until: str | None = None
    limit: int = 100
    ascending: bool = False
    after: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain form for the `more` cursor."""
        return {key: value for key, value in self.__dict__.items() if value not in (None, False)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatementQuery:
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class StatementPage:
    """One page of statements and, when more match, the sequence number to continue after."""

    statements: list[dict[str, Any]]
    next_after: int | None


def _voided() -> Any:
    return exists(
        select(VOIDS.c.voided_id).where(
            VOIDS.c.college_id == STATEMENTS.c.college_id, VOIDS.c.voided_id == STATEMENTS.c.statement_id
        )
    )


def get_statement(
    session: Session, college_id: str, statement_id: str, *, voided: bool = False
) -> dict[str, Any] | None:
    """A college's stored statement with this id; with `voided`, only if it was voided, else only if it was not."""
    query = select(STATEMENTS.c.payload).where(
        STATEMENTS.c.college_id == college_id,
        STATEMENTS.c.statement_id == statement_id.lower(),
        _voided() if voided else ~_voided(),
    )
    payload = session.execute(query).scalar()
    return None if payload is None else dict(json.loads(payload))


def statement_ledger_index(session: Session, college_id: str, statement_id: str) -> int | None:
    """The ledger leaf index of a college's statement (voided or not), or None if it has no such statement."""
    found = session.execute(
        select(STATEMENTS.c.ledger_index).where(
            STATEMENTS.c.college_id == college_id, STATEMENTS.c.statement_id == statement_id.lower()
        )
    ).scalar()
    return None if found is None else int(found)


def query_statements(session: Session, college_id: str, query: StatementQuery) -> StatementPage:
    """A page of a college's statements matching the filters, newest first unless `ascending`."""
    statement: Select[Any] = select(STATEMENTS.c.seq, STATEMENTS.c.payload).where(STATEMENTS.c.college_id == college_id)
    order_column: Any = STATEMENTS.c.seq
    filters = [
        (f"agent:{query.agent_key}" if query.agent_key else None, query.related_agents),
        (f"activity:{query.activity}" if query.activity else None, query.related_activities),
        (f"verb:{query.verb}" if query.verb else None, False),
        (f"registration:{query.registration.lower()}" if query.registration else None, False),
    ]
    first = True
    for key, related in filters:
        if key is None:
            continue
        alias = KEYS.alias()
        statement = statement.join(alias, alias.c.seq == STATEMENTS.c.seq).where(
            alias.c.college_id == college_id, alias.c.key == key
        )
        if not related:
            statement = statement.where(alias.c.relation == DIRECT)
        if first:
            order_column, first = alias.c.seq, False
    if query.since is not None:
        statement = statement.where(STATEMENTS.c.stored > query.since)
    if query.until is not None:
        statement = statement.where(STATEMENTS.c.stored <= query.until)
    if query.after is not None:
        statement = statement.where(order_column > query.after if query.ascending else order_column < query.after)
    statement = statement.where(~_voided())
    statement = statement.order_by(order_column.asc() if query.ascending else order_column.desc())
    rows = session.execute(statement.limit(query.limit + 1)).all()
    page = rows[: query.limit]
    next_after = int(page[-1].seq) if len(rows) > query.limit else None
    return StatementPage([json.loads(row.payload) for row in page], next_after)


def attachments_for(session: Session, college_id: str, statements: Iterable[dict[str, Any]]) -> list[Attachment]:
    """Stored content of every attachment the college's statements declare (each sha2 once)."""
    wanted = {a["sha2"].lower() for s in statements for a in s.get("attachments", [])}
    if not wanted:
        return []
    attachments = table(AttachmentRow)
    rows = session.execute(
        select(attachments).where(attachments.c.college_id == college_id, attachments.c.sha2.in_(wanted))
    )
    return [Attachment(row.sha2, row.content_type, row.content) for row in rows]


def activity_definition(session: Session, college_id: str, activity_id: str) -> dict[str, Any] | None:
    """The latest definition a college's statements gave an activity, or None if none of them mentioned it."""
    found = session.execute(
        select(ACTIVITIES.c.definition).where(
            ACTIVITIES.c.college_id == college_id, ACTIVITIES.c.activity_id == activity_id
        )
    ).scalar()
    if found is not None:
        return dict(json.loads(found))
    known = session.execute(
        select(KEYS.c.seq).where(KEYS.c.college_id == college_id, KEYS.c.key == f"activity:{activity_id}").limit(1)
    ).first()
    return {} if known is not None else None
