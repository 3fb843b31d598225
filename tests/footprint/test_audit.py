"""Tamper detection on SQLite and PostgreSQL: rows edited, deleted or swapped directly with SQL are caught."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rfc8785
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from footprint.audit import AuditReport, FindingKind, audit
from footprint.ledger import Ledger, Record, generate_signer
from footprint.ledger.merkle import leaf_hash
from footprint.store import make_engine, make_session_factory, migrate

ORIGIN = "footprint.test/audit"
SIZE = 20


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(ORIGIN, generate_signer(ORIGIN))


@pytest.fixture
def sessions(engine: Engine, ledger: Ledger) -> sessionmaker[Session]:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        ledger.append_many(
            session, [Record("xapi.statement", f"s{i}", {"id": f"s{i}", "score": i}) for i in range(SIZE)]
        )
        ledger.checkpoint(session)
    return sessions


def run_audit(sessions: sessionmaker[Session], ledger: Ledger) -> AuditReport:
    assert ledger.signer is not None
    with sessions() as session:
        return audit(session, ledger.signer.verifier)


def sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def kinds(report: AuditReport) -> set[FindingKind]:
    return {f.kind for f in report.findings}


def test_untouched_ledger_is_clean(sessions: sessionmaker[Session], ledger: Ledger) -> None:
    report = run_audit(sessions, ledger)
    assert report.clean and report.tree_size == SIZE and report.rows == SIZE and report.checkpoints == 1


def test_edited_payload_is_caught(engine: Engine, sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sql(engine, 'UPDATE ledger_entries SET payload = :p WHERE "index" = 5', p=b'{"id":"s5","score":100}')
    report = run_audit(sessions, ledger)
    assert report.tampered_indexes == (5,)
    assert FindingKind.CHANGED in kinds(report) and FindingKind.CHECKPOINT_MISMATCH in kinds(report)


def test_edited_payload_with_a_matching_leaf_hash_is_caught(
    engine: Engine, sessions: sessionmaker[Session], ledger: Ledger
) -> None:
    forged = rfc8785.dumps({"id": "s6", "score": 100})
    sql(
        engine,
        'UPDATE ledger_entries SET payload = :p, leaf_hash = :h WHERE "index" = 6',
        p=forged,
        h=leaf_hash(forged),
    )
    report = run_audit(sessions, ledger)
    assert report.tampered_indexes == (6,)
    assert [f.detail for f in report.findings if f.kind is FindingKind.CHANGED] == [
        "row 6: payload changed, and its leaf_hash was rewritten to match"
    ]


def test_deleted_row_is_caught(engine: Engine, sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sql(engine, 'DELETE FROM ledger_entries WHERE "index" = 7')
    report = run_audit(sessions, ledger)
    assert report.tampered_indexes == (7,)
    assert [f.kind for f in report.findings if f.index == 7] == [FindingKind.REMOVED]


def test_swapped_rows_are_caught(engine: Engine, sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sql(engine, 'UPDATE ledger_entries SET "index" = -1 WHERE "index" = 3')
    sql(engine, 'UPDATE ledger_entries SET "index" = 3 WHERE "index" = 11')
    sql(engine, 'UPDATE ledger_entries SET "index" = 11 WHERE "index" = -1')
    report = run_audit(sessions, ledger)
    assert report.tampered_indexes == (3, 11)
    assert {(f.kind, f.index) for f in report.findings if f.index is not None} == {
        (FindingKind.REORDERED, 3),
        (FindingKind.REORDERED, 11),
    }


def test_rewritten_tree_is_caught_by_the_signed_checkpoint(
    engine: Engine, sessions: sessionmaker[Session], ledger: Ledger
) -> None:
    forged = rfc8785.dumps({"id": "s0", "score": 100})
    sql(
        engine,
        'UPDATE ledger_entries SET payload = :p, leaf_hash = :h WHERE "index" = 0',
        p=forged,
        h=leaf_hash(forged),
    )
    sql(engine, "UPDATE ledger_nodes SET hash = :h WHERE level = 0 AND position = 0", h=leaf_hash(forged))
    report = run_audit(sessions, ledger)
    assert FindingKind.NODE_CHANGED in kinds(report)  # the stored parent no longer fits the forged leaf
    assert FindingKind.CHECKPOINT_MISMATCH in kinds(report)


def test_edited_checkpoint_is_caught(engine: Engine, sessions: sessionmaker[Session], ledger: Ledger) -> None:
    sql(engine, "UPDATE ledger_checkpoints SET note = replace(note, :a, :b)", a=f"\n{SIZE}\n", b=f"\n{SIZE - 1}\n")
    assert kinds(run_audit(sessions, ledger)) == {FindingKind.BAD_SIGNATURE}
