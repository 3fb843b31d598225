"""The statement store on a real database: idempotency, conflicts, voiding, queries, ledger entries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from footprint.xapi.canonical import agent_key
from footprint.xapi.errors import BadRequest, Conflict, InvalidStatement
from footprint.xapi.queries import StatementQuery, activity_definition, get_statement, query_statements
from footprint.xapi.statements import LEDGER_KIND, StoreResult, store_statements
from tests.xapi.conftest import AUTHORITY, statement


def _store(sessions: sessionmaker[Session], ledger: Ledger, *batch: dict[str, Any], **kw: Any) -> StoreResult:
    with sessions() as session, session.begin():
        return store_statements(session, ledger, list(batch), authority=AUTHORITY, version="1.0.3", **kw)


def _query(sessions: sessionmaker[Session], **filters: Any) -> list[dict[str, Any]]:
    with sessions() as session:
        return query_statements(session, StatementQuery(**filters)).statements


def test_store_sets_store_fields_and_appends_to_ledger(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    result = _store(sessions, ledger, statement(), statement(actor="bob"))
    assert result.created == 2
    with sessions() as session:
        stored = get_statement(session, result.ids[0])
        assert stored is not None
        assert stored["authority"] == AUTHORITY and stored["version"] == "1.0.0"
        assert stored["stored"].endswith("Z") and stored["timestamp"] == stored["stored"]
        entries = [ledger.entry_for(session, LEDGER_KIND, i) for i in result.ids]
        assert [e.index for e in entries if e is not None] == [0, 1]
        assert ledger.size(session) == 2


def test_same_id_same_statement_is_idempotent(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sid = str(uuid.uuid4())
    _store(sessions, ledger, statement(id=sid))
    again = _store(sessions, ledger, statement(id=sid))
    assert again.created == 0 and again.ids == [sid]
    with pytest.raises(Conflict):
        _store(sessions, ledger, statement(id=sid, verb="failed"))
    with sessions() as session:
        assert ledger.size(session) == 1


def test_batch_with_duplicate_id_is_refused_whole(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sid = str(uuid.uuid4())
    with pytest.raises(BadRequest, match="more than once"):
        _store(sessions, ledger, statement(id=sid), statement(id=sid))
    with pytest.raises(InvalidStatement):
        _store(sessions, ledger, statement(), {"actor": {}})
    assert _query(sessions) == []


def test_voiding_hides_target_and_cannot_void_a_voiding(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    target = str(uuid.uuid4())
    _store(sessions, ledger, statement(id=target))
    void = statement(verb="voided", id=str(uuid.uuid4()))
    void["verb"]["id"] = "http://adlnet.gov/expapi/verbs/voided"
    void["object"] = {"objectType": "StatementRef", "id": target}
    _store(sessions, ledger, void)
    with sessions() as session:
        assert get_statement(session, target) is None
        assert get_statement(session, target, voided=True) is not None
    ids = [s["id"] for s in _query(sessions, verb="http://adlnet.gov/expapi/verbs/answered")]
    assert ids == [void["id"]]  # the voiding statement targets a matching statement
    again = {**void, "id": str(uuid.uuid4()), "object": {"objectType": "StatementRef", "id": void["id"]}}
    with pytest.raises(BadRequest, match="cannot be voided"):
        _store(sessions, ledger, again)


def test_queries_filter_and_page(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    registration = str(uuid.uuid4())
    batch = [statement(actor="ann" if i % 2 else "bob", activity=f"q{i % 3}") for i in range(12)]
    batch[0]["context"] = {"registration": registration, "instructor": {"mbox": "mailto:teacher@example.kz"}}
    _store(sessions, ledger, *batch)
    ann = agent_key({"mbox": "mailto:ann@example.kz"})
    assert len(_query(sessions, agent_key=ann)) == 6
    assert len(_query(sessions, activity="https://proctor.kz/activities/q0")) == 4
    assert len(_query(sessions, registration=registration)) == 1
    teacher = agent_key({"mbox": "mailto:teacher@example.kz"})
    assert _query(sessions, agent_key=teacher) == []
    assert len(_query(sessions, agent_key=teacher, related_agents=True)) == 1
    with sessions() as session:
        first = query_statements(session, StatementQuery(limit=5))
        second = query_statements(session, StatementQuery(limit=5, after=first.next_after))
        third = query_statements(session, StatementQuery(limit=5, after=second.next_after))
    assert first.next_after is not None and second.next_after is not None and third.next_after is None
    seen = [s["id"] for page in (first, second, third) for s in page.statements]
    assert len(seen) == len(set(seen)) == 12
    ascending = _query(sessions, ascending=True, limit=100)
    assert [s["id"] for s in ascending] == list(reversed(seen))


def test_activity_definitions_merge(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    first = statement()
    first["object"]["definition"] = {"name": {"en-US": "Question 1"}}
    second = statement()
    second["object"]["definition"] = {"name": {"kk-KZ": "1-сұрақ"}}
    _store(sessions, ledger, first)
    _store(sessions, ledger, second)
    with sessions() as session:
        definition = activity_definition(session, "https://proctor.kz/activities/q1")
    assert definition == {"name": {"en-US": "Question 1", "kk-KZ": "1-сұрақ"}}
