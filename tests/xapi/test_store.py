"""The statement store on a real database: idempotency, conflicts, voiding, queries, ledger entries —
each college its own store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from footprint.xapi.canonical import agent_key
from footprint.xapi.errors import BadRequest, Conflict, InvalidStatement
from footprint.xapi.parts import Attachment
from footprint.xapi.queries import (
    StatementQuery,
    activity_definition,
    attachments_for,
    get_statement,
    query_statements,
    statement_ledger_index,
)
from footprint.xapi.statements import LEDGER_KIND, StoreResult, ledger_record_id, store_statements
from tests.xapi.conftest import AUTHORITY, Colleges, statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _store(
    sessions: sessionmaker[Session], ledger: Ledger, college: str, *batch: dict[str, Any], **kw: Any
) -> StoreResult:
    with sessions() as session, session.begin():
        return store_statements(
            session, ledger, list(batch), college_id=college, authority=AUTHORITY, version="1.0.3", **kw
        )


def _query(sessions: sessionmaker[Session], college: str, **filters: Any) -> list[dict[str, Any]]:
    with sessions() as session:
        return query_statements(session, college, StatementQuery(**filters)).statements


def _void(target: str) -> dict[str, Any]:
    void = statement(verb="voided", id=str(uuid.uuid4()))
    void["verb"]["id"] = VOIDED
    void["object"] = {"objectType": "StatementRef", "id": target}
    return void


def test_store_sets_store_fields_and_appends_to_ledger(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    result = _store(sessions, ledger, colleges.first, statement(), statement(actor="bob"))
    assert result.created == 2
    with sessions() as session:
        stored = get_statement(session, colleges.first, result.ids[0])
        assert stored is not None
        assert stored["authority"] == AUTHORITY and stored["version"] == "1.0.0"
        assert stored["stored"].endswith("Z") and stored["timestamp"] == stored["stored"]
        entries = [ledger.entry_for(session, LEDGER_KIND, ledger_record_id(colleges.first, i)) for i in result.ids]
        assert [e.index for e in entries if e is not None] == [0, 1]
        assert [statement_ledger_index(session, colleges.first, i) for i in result.ids] == [0, 1]
        assert statement_ledger_index(session, colleges.second, result.ids[0]) is None
        assert ledger.size(session) == 2


def test_same_id_same_statement_is_idempotent(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    sid = str(uuid.uuid4())
    _store(sessions, ledger, colleges.first, statement(id=sid))
    again = _store(sessions, ledger, colleges.first, statement(id=sid))
    assert again.created == 0 and again.ids == [sid]
    with pytest.raises(Conflict):
        _store(sessions, ledger, colleges.first, statement(id=sid, verb="failed"))
    with sessions() as session:
        assert ledger.size(session) == 1


def test_statement_ids_are_per_college(sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges) -> None:
    """Another college may use the same id for its own statement: no 409 that would reveal the first one."""
    sid = str(uuid.uuid4())
    _store(sessions, ledger, colleges.first, statement(id=sid))
    other = _store(sessions, ledger, colleges.second, statement(id=sid, verb="failed"))
    assert other.created == 1
    with sessions() as session:
        first = get_statement(session, colleges.first, sid)
        second = get_statement(session, colleges.second, sid)
        assert first is not None and second is not None
        assert (first["verb"]["id"], second["verb"]["id"]) == (
            "http://adlnet.gov/expapi/verbs/answered",
            "http://adlnet.gov/expapi/verbs/failed",
        )
        assert ledger.size(session) == 2


def test_batch_with_duplicate_id_is_refused_whole(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    sid = str(uuid.uuid4())
    with pytest.raises(BadRequest, match="more than once"):
        _store(sessions, ledger, colleges.first, statement(id=sid), statement(id=sid))
    with pytest.raises(InvalidStatement):
        _store(sessions, ledger, colleges.first, statement(), {"actor": {}})
    assert _query(sessions, colleges.first) == []


def test_voiding_hides_target_and_cannot_void_a_voiding(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    target = str(uuid.uuid4())
    _store(sessions, ledger, colleges.first, statement(id=target))
    void = _void(target)
    _store(sessions, ledger, colleges.first, void)
    with sessions() as session:
        assert get_statement(session, colleges.first, target) is None
        assert get_statement(session, colleges.first, target, voided=True) is not None
    ids = [s["id"] for s in _query(sessions, colleges.first, verb="http://adlnet.gov/expapi/verbs/answered")]
    assert ids == [void["id"]]  # the voiding statement targets a matching statement
    again = {**void, "id": str(uuid.uuid4()), "object": {"objectType": "StatementRef", "id": void["id"]}}
    with pytest.raises(BadRequest, match="cannot be voided"):
        _store(sessions, ledger, colleges.first, again)


def test_a_college_cannot_void_another_colleges_statement(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    target = str(uuid.uuid4())
    _store(sessions, ledger, colleges.first, statement(id=target))
    _store(sessions, ledger, colleges.second, _void(target))  # voids nothing the second college holds
    with sessions() as session:
        assert get_statement(session, colleges.first, target) is not None
        assert get_statement(session, colleges.first, target, voided=True) is None
    assert [s["id"] for s in _query(sessions, colleges.first)] == [target]
    refs = _query(sessions, colleges.second, verb="http://adlnet.gov/expapi/verbs/answered")
    assert refs == []  # the other college's voiding statement inherits nothing from the first college's target


def test_queries_filter_and_page(sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges) -> None:
    registration = str(uuid.uuid4())
    batch = [statement(actor="ann" if i % 2 else "bob", activity=f"q{i % 3}") for i in range(12)]
    batch[0]["context"] = {"registration": registration, "instructor": {"mbox": "mailto:teacher@example.kz"}}
    _store(sessions, ledger, colleges.first, *batch)
    _store(sessions, ledger, colleges.second, *[statement(actor="ann", activity="q0") for _ in range(3)])
    first = colleges.first
    ann = agent_key({"mbox": "mailto:ann@example.kz"})
    assert len(_query(sessions, first, agent_key=ann)) == 6
    assert len(_query(sessions, colleges.second, agent_key=ann)) == 3
    assert len(_query(sessions, first, activity="https://proctor.kz/activities/q0")) == 4
    assert len(_query(sessions, first, registration=registration)) == 1
    assert _query(sessions, colleges.second, registration=registration) == []
    teacher = agent_key({"mbox": "mailto:teacher@example.kz"})
    assert _query(sessions, first, agent_key=teacher) == []
    assert len(_query(sessions, first, agent_key=teacher, related_agents=True)) == 1
    with sessions() as session:
        page1 = query_statements(session, first, StatementQuery(limit=5))
        page2 = query_statements(session, first, StatementQuery(limit=5, after=page1.next_after))
        page3 = query_statements(session, first, StatementQuery(limit=5, after=page2.next_after))
        # a cursor of the first college's pages gives the second college only its own statements
        foreign = query_statements(session, colleges.second, StatementQuery(limit=5, after=page1.next_after))
    assert page1.next_after is not None and page2.next_after is not None and page3.next_after is None
    seen = [s["id"] for page in (page1, page2, page3) for s in page.statements]
    assert len(seen) == len(set(seen)) == 12
    assert not set(seen) & {s["id"] for s in foreign.statements}
    ascending = _query(sessions, first, ascending=True, limit=100)
    assert [s["id"] for s in ascending] == list(reversed(seen))


def test_activity_definitions_merge_per_college(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    first = statement()
    first["object"]["definition"] = {"name": {"en-US": "Question 1"}}
    second = statement()
    second["object"]["definition"] = {"name": {"kk-KZ": "1-сұрақ"}}
    other = statement()
    other["object"]["definition"] = {"name": {"en-US": "Their question"}, "description": {"en-US": "secret"}}
    _store(sessions, ledger, colleges.first, first)
    _store(sessions, ledger, colleges.first, second)
    _store(sessions, ledger, colleges.second, other)
    activity = "https://proctor.kz/activities/q1"
    with sessions() as session:
        assert activity_definition(session, colleges.first, activity) == {
            "name": {"en-US": "Question 1", "kk-KZ": "1-сұрақ"}
        }
        assert activity_definition(session, colleges.second, activity) == {
            "name": {"en-US": "Their question"},
            "description": {"en-US": "secret"},
        }


def test_attachments_belong_to_the_college_that_sent_them(
    sessions: sessionmaker[Session], ledger: Ledger, colleges: Colleges
) -> None:
    import hashlib

    content = b"evidence of the first college"
    sha2 = hashlib.sha256(content).hexdigest()
    meta = {"usageType": "https://proctor.kz/evidence", "display": {"en-US": "e"}, "contentType": "text/plain"}
    data = statement(attachments=[{**meta, "length": len(content), "sha2": sha2}])
    _store(sessions, ledger, colleges.first, data, attachments=[Attachment(sha2, "text/plain", content)])
    with sessions() as session:
        stored = get_statement(session, colleges.first, _query(sessions, colleges.first)[0]["id"])
        assert stored is not None
        assert [a.content for a in attachments_for(session, colleges.first, [stored])] == [content]
        assert attachments_for(session, colleges.second, [stored]) == []
