"""Migrations: the schema they build is the one the models declare, and 0004 gives old rows to their colleges."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import footprint.accounts  # noqa: F401  (registers its tables)
import footprint.catalogue.store  # noqa: F401
import footprint.facts.tables  # noqa: F401
import footprint.signins  # noqa: F401
import footprint.xapi.tables  # noqa: F401
import proctor.lti.tables  # noqa: F401
import proctor.material.tables  # noqa: F401
import proctor.sessions.tables  # noqa: F401
from footprint.accounts import ALL_SCOPES, authenticate, hash_key, keys_of
from footprint.ledger import Ledger
from footprint.people import Role, UserRow, add_person, hasher, sign_in
from footprint.store import Base, make_engine, make_session_factory, migrate
from footprint.xapi.canonical import agent_key
from footprint.xapi.documents import DocumentScope, get_document
from footprint.xapi.queries import StatementQuery, activity_definition, get_statement, query_statements

HOME = "https://proctor.kz/credentials/"


def test_migrations_build_the_schema_the_models_declare(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def _statement(college: str, activity: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": "mailto:ann@example.kz"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"objectType": "Activity", "id": activity, "definition": {"name": {"en-US": f"by {college}"}}},
        "authority": {"objectType": "Agent", "account": {"homePage": f"{HOME}{college}", "name": "key"}},
        "stored": "2026-11-20T10:00:00.000000Z",
        "timestamp": "2026-11-20T10:00:00.000000Z",
        "version": "1.0.0",
        **extra,
    }


def _legacy_rows(db: Session, ledger: Ledger, colleges: tuple[str, str]) -> dict[str, str]:
    """Rows as revision 0003 held them: no college on any xAPI row; ledger records named by statement id."""
    now = datetime.now(UTC)
    first, second = colleges
    for college in colleges:
        db.execute(text("INSERT INTO colleges (id, name, created_at) VALUES (:i, :i, :t)"), {"i": college, "t": now})
    db.execute(
        text(
            "INSERT INTO exams (id, college_id, title, attestation, policy, created_at) "
            "VALUES ('e', :c, 't', 'final', '{}', :t)"
        ),
        {"c": second, "t": now},
    )
    db.execute(
        text(
            "INSERT INTO candidates (id, exam_id, external_id, full_name, photo_key, embedding, created_at) "
            "VALUES ('k', 'e', 'S-1', 'A', 'p', :b, :t)"
        ),
        {"b": b"\0", "t": now},
    )
    session_id = str(uuid.uuid4())
    db.execute(
        text(
            "INSERT INTO exam_sessions (id, exam_id, candidate_id, status, join_token_hash, join_used, job_state, "
            "job_attempts, analysis_run, created_at) VALUES (:s, 'e', 'k', 'analysed', 'h', false, 'done', 1, 1, :t)"
        ),
        {"s": session_id, "t": now},
    )
    sha2 = "ab" * 32
    meta = {"usageType": "https://proctor.kz/e", "display": {"en-US": "e"}, "contentType": "text/plain"}
    by_first = _statement(first, "https://proctor.kz/q1", attachments=[{**meta, "length": 3, "sha2": sha2}])
    by_second = _statement(second, "https://proctor.kz/q1", attachments=[{**meta, "length": 3, "sha2": sha2}])
    proctoring = _statement("none", "https://proctor.kz/exam", context={"registration": session_id})
    proctoring["authority"] = {"objectType": "Agent", "account": {"homePage": "http://x", "name": "proctoring"}}
    void = _statement(first, "https://proctor.kz/q2")
    void["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}
    void["object"] = {"objectType": "StatementRef", "id": by_first["id"]}
    for seq, item in enumerate((by_first, by_second, proctoring, void), start=1):
        db.execute(
            text("INSERT INTO xapi_statements (seq, statement_id, stored, voids, payload) VALUES (:q, :i, :s, :v, :p)"),
            {
                "q": seq,
                "i": item["id"],
                "s": item["stored"],
                "v": item["object"]["id"] if item is void else None,
                "p": json.dumps(item),
            },
        )
        keys = {f"agent:{agent_key(item['actor'])}", f"verb:{item['verb']['id']}"}
        if item is not void:
            keys.add(f"activity:{item['object']['id']}")
        for key in keys:
            db.execute(
                text("INSERT INTO xapi_statement_keys (key, seq, relation) VALUES (:k, :q, 1)"), {"k": key, "q": seq}
            )
        ledger.append(db, "xapi.statement", item["id"], item)
    db.execute(
        text("INSERT INTO xapi_voids (voided_id, voiding_id) VALUES (:a, :b)"), {"a": by_first["id"], "b": void["id"]}
    )
    db.execute(
        text("INSERT INTO xapi_attachments (sha2, content_type, content) VALUES (:s, 'text/plain', :c)"),
        {"s": sha2, "c": b"abc"},
    )
    db.execute(
        text(
            "INSERT INTO xapi_documents (kind, activity_id, agent_key, registration, document_id, content_type, "
            "content, etag, updated) VALUES ('activity_profile', 'https://proctor.kz/q1', '', '', 'rules', "
            "'application/json', :c, 'e1', '2026-11-20T10:00:00.000000Z')"
        ),
        {"c": b'{"a": 1}'},
    )
    return {"first": by_first["id"], "second": by_second["id"], "proctoring": proctoring["id"], "void": void["id"]}


def test_tenancy_migration_gives_every_old_row_to_its_college(db_url: str) -> None:
    engine = make_engine(db_url)
    colleges = (str(uuid.uuid4()), str(uuid.uuid4()))
    first, second = colleges
    ledger = Ledger("test.proctor.kz/log")
    try:
        migrate(engine, "0003_sessions")
        sessions = make_session_factory(engine)
        with sessions.begin() as db:
            ids = _legacy_rows(db, ledger, colleges)
        migrate(engine)
        with sessions() as db:
            owners = {row.statement_id: row.college_id for row in db.execute(text("SELECT * FROM xapi_statements"))}
            assert owners == {ids["first"]: first, ids["second"]: second, ids["proctoring"]: second, ids["void"]: first}
            for name, sid in ids.items():
                college = owners[sid]
                index = db.execute(
                    text("SELECT ledger_index FROM xapi_statements WHERE statement_id = :i"), {"i": sid}
                ).scalar_one()
                entry = ledger.entry_at(db, index)
                assert entry is not None and entry.record_id == sid, name
                assert json.loads(entry.payload)["id"] == sid
                assert college in (first, second)
            # the void stays the first college's: its target is hidden from it, and only from it
            assert get_statement(db, first, ids["first"]) is None
            assert get_statement(db, first, ids["first"], voided=True) is not None
            assert get_statement(db, second, ids["second"]) is not None
            ann = agent_key({"mbox": "mailto:ann@example.kz"})
            mine = query_statements(db, second, StatementQuery(agent_key=ann)).statements
            assert {s["id"] for s in mine} == {ids["second"], ids["proctoring"]}
            assert activity_definition(db, first, "https://proctor.kz/q1") == {"name": {"en-US": f"by {first}"}}
            assert activity_definition(db, second, "https://proctor.kz/q1") == {"name": {"en-US": f"by {second}"}}
            attachments = (
                db.execute(text("SELECT college_id FROM xapi_attachments ORDER BY college_id")).scalars().all()
            )
            assert attachments == sorted(colleges)
            for college in colleges:  # an old document cannot be attributed: each college keeps a copy
                document = get_document(
                    db, DocumentScope(college, "activity_profile", "https://proctor.kz/q1"), "rules"
                )
                assert document is not None and document.content == b'{"a": 1}'
    finally:
        engine.dispose()


def test_keys_and_people_made_before_scopes_keep_working_after_the_upgrade(db_url: str) -> None:
    """A database at revision 0013 with a college, its keys (one the demo key), its people (one the demo admin):
    after the upgrade every key works with every scope it had, the demo key is known as such, and an address may
    then be someone of a second college too."""
    engine = make_engine(db_url)
    college, other = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        migrate(engine, "0013_job_queue")
        with engine.begin() as db:
            for college_id, name in ((college, "Early College"), (other, "Other College")):
                db.execute(
                    text("INSERT INTO colleges (id, name, created_at) VALUES (:i, :n, :t)"),
                    {"i": college_id, "n": name, "t": now},
                )
            for name, secret in (("moodle", "an-old-lms-key-0123456789"), ("bootstrap", "the-old-demo-key-0123456")):
                db.execute(
                    text(
                        "INSERT INTO credentials (id, college_id, name, key_hash, created_at) "
                        "VALUES (:i, :c, :n, :h, :t)"
                    ),
                    {"i": str(uuid.uuid4()), "c": college, "n": name, "h": hash_key(secret), "t": now},
                )
            for email in ("examiner@college.kz", "admin@demo.kz"):
                db.execute(
                    text(
                        "INSERT INTO users (id, college_id, email, full_name, role, password_hash, created_at) "
                        "VALUES (:i, :c, :e, 'Person', 'examiner', :h, :t)"
                    ),
                    {"i": str(uuid.uuid4()), "c": college, "e": email, "h": hasher.hash("a long password"), "t": now},
                )
        migrate(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as db:
            lms = authenticate(db, "an-old-lms-key-0123456789")
            assert lms is not None and lms.scopes == ALL_SCOPES  # it could do everything before: it still can
            keys = {key.name: key for key in keys_of(db, college)}
            assert keys["bootstrap"].bootstrap and not keys["moodle"].bootstrap
            assert keys["moodle"].prefix.startswith("?") and keys["moodle"].active()
            demo = db.scalars(select(UserRow).where(UserRow.email == "admin@demo.kz")).one()
            assert demo.demo and demo.disabled_at is None
            add_person(db, other, "examiner@college.kz", "Same Person", Role.EXAMINER, "another long password")
            assert len(sign_in(db, "examiner@college.kz", "a long password")) == 1
    finally:
        engine.dispose()
