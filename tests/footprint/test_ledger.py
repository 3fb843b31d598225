"""The database ledger on SQLite and PostgreSQL: appends in the caller's transaction, proofs from stored
nodes that match the in-memory RFC 9162 tree, duplicates refused, concurrent appends serialised."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import DuplicateRecordError, Ledger, LedgerError, Record, generate_signer
from footprint.ledger.checkpoint import verify
from footprint.ledger.merkle import (
    EMPTY_ROOT,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from footprint.store import alembic_config, make_engine, make_session_factory, migrate

ORIGIN = "footprint.test/ledger"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(ORIGIN, generate_signer(ORIGIN))


def statement(i: int) -> dict[str, object]:
    return {"id": f"stmt-{i}", "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "result": {"score": i}}


def test_proofs_from_the_store_match_the_rfc_tree(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    with sessions.begin() as session:
        first = ledger.append(session, "xapi.statement", "stmt-0", statement(0))
        rest = ledger.append_many(session, [Record("xapi.statement", f"stmt-{i}", statement(i)) for i in range(1, 37)])
    leaves = [first.leaf_hash, *(e.leaf_hash for e in rest)]
    assert [e.index for e in rest] == list(range(1, 37))
    assert (
        first.payload
        == b'{"id":"stmt-0","result":{"score":0},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"}}'
    )
    with sessions() as session:
        assert ledger.size(session) == 37
        assert ledger.root(session) == root_hash(leaves)
        for size in (1, 2, 3, 8, 13, 32, 37):
            root = ledger.root(session, size)
            assert root == root_hash(leaves[:size])
            for index in {0, size // 2, size - 1}:
                proof = ledger.inclusion_proof(session, index, size)
                assert proof.audit_path == inclusion_path(leaves[:size], index)
                verify_inclusion(proof, leaves[index], root)
            for first_size in {1, size // 2 or 1, size}:
                consistency = ledger.consistency_proof(session, first_size, size)
                assert consistency.path == consistency_path(leaves[:size], first_size)
                verify_consistency(consistency, root_hash(leaves[:first_size]), root)
        assert ledger.inclusion_proof(session, 5).tree_size == 37
        entry = ledger.entry_for(session, "xapi.statement", "stmt-5")
        assert entry is not None and entry.index == 5 and entry.leaf_hash == leaves[5]
        assert ledger.entry_for(session, "xapi.statement", "missing") is None
        assert ledger.entry_at(session, 36) == rest[-1]
        with pytest.raises(LedgerError):
            ledger.inclusion_proof(session, 0, 38)


def test_append_rolls_back_with_the_callers_transaction(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    with sessions() as session, session.begin():
        assert ledger.root(session) == EMPTY_ROOT
        ledger.append(session, "k", "a", {"a": 1})
        session.rollback()
    with sessions.begin() as session:
        assert ledger.size(session) == 0
        assert ledger.append(session, "k", "b", {"b": 1}).index == 0


def test_duplicates_are_refused(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    with sessions.begin() as session:
        ledger.append(session, "k", "a", {"a": 1})
    with sessions.begin() as session, pytest.raises(DuplicateRecordError):
        ledger.append(session, "k", "a", {"a": 2})
    with sessions.begin() as session, pytest.raises(DuplicateRecordError):
        ledger.append_many(session, [Record("k", "x", {}), Record("k", "x", {})])
    with sessions.begin() as session, pytest.raises(LedgerError, match="canonicalised"):
        ledger.append(session, "k", "y", {"too big": 2**60})  # not exactly representable in JSON


def test_checkpoint_signs_the_head_once_per_size(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    assert ledger.signer is not None
    with sessions.begin() as session:
        assert ledger.latest_checkpoint(session) is None
        empty = ledger.checkpoint(session)
        assert empty.checkpoint.tree_size == 0 and empty.checkpoint.root_hash == EMPTY_ROOT
        ledger.append_many(session, [Record("k", str(i), {"i": i}) for i in range(5)])
        signed = ledger.checkpoint(session)
        assert ledger.checkpoint(session) == signed
    assert verify(signed.note, ledger.signer.verifier) == signed.checkpoint
    with sessions() as session:
        assert ledger.latest_checkpoint(session) == signed
        assert ledger.checkpoint_at(session, 0) == empty
        assert signed.checkpoint.root_hash == ledger.root(session)
    with sessions.begin() as session, pytest.raises(LedgerError):
        Ledger(ORIGIN).checkpoint(session)


def test_concurrent_appends_are_serialised(engine: Engine, sessions: sessionmaker[Session], ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for batch in range(5):
                with sessions.begin() as session:
                    ledger.append_many(
                        session, [Record("k", f"{worker}-{batch}-{i}", {"w": worker, "i": i}) for i in range(7)]
                    )
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.connect() as connection:
        rows = connection.execute(text('SELECT "index", payload FROM ledger_entries ORDER BY "index"')).all()
    assert [r[0] for r in rows] == list(range(140))
    with sessions() as session:
        assert ledger.root(session) == root_hash([leaf_hash(bytes(r[1])) for r in rows])


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert current == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_large_batches_check_every_id(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    with sessions.begin() as session:
        ledger.append(session, "k", "r2200", {"n": -1})
    batch = [Record("k", f"r{i}", {"n": i}) for i in range(2500)]
    with sessions.begin() as session, pytest.raises(DuplicateRecordError, match="r2200"):
        ledger.append_many(session, batch)
    with sessions.begin() as session:
        appended = ledger.append_many(session, [r for r in batch if r.record_id != "r2200"])
    assert [e.index for e in appended] == list(range(1, 2500))
