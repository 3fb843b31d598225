"""On SQLite and PostgreSQL: facts are written with their statements; figures at an older checkpoint are the older
figures; a statement that arrives late counts at its timestamp from the first checkpoint that holds it; a void
stops a statement counting from its own checkpoint on; the catalogue in force is the one the checkpoint holds;
two colleges never see each other's statements; statements stored before the projection get their facts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from footprint.accounts import create_college
from footprint.catalogue.store import save_catalogue
from footprint.facts.backfill import backfill_facts
from footprint.facts.tables import FactRow
from footprint.ledger import Ledger, generate_signer
from footprint.reports import FootprintNotFound, basis, compute, one_learner
from footprint.store import make_engine, make_session_factory, migrate
from footprint.xapi.errors import Conflict
from footprint.xapi.statements import store_statements
from tests.indicators.helpers import COURSE, PAGE, SITE, TEACHER, at, base_catalogue, catalogue, user

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://proctor.kz/credentials/x", "name": "lms"}}


@dataclass
class Store:
    sessions: sessionmaker[Session]
    ledger: Ledger

    def add(self, college: str, statements: list[dict[str, Any]]) -> None:
        with self.sessions.begin() as db:
            store_statements(db, self.ledger, statements, college_id=college, authority=AUTHORITY, version="1.0.3")

    def checkpoint(self) -> int:
        with self.sessions.begin() as db:
            return self.ledger.checkpoint(db).checkpoint.tree_size

    def learner(self, college: str, learner: str, size: int) -> Any:
        with self.sessions() as db:
            where = basis(db, self.ledger, college, size, at(7, 0), at(21, 0))
            return one_learner(db, where, learner)[0]

    def catalogue(self, college: str, data: dict[str, Any]) -> None:
        with self.sessions.begin() as db:
            save_catalogue(db, self.ledger, college, catalogue(data), "test")

    def college(self, name: str) -> str:
        with self.sessions.begin() as db:
            return create_college(db, name)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield Store(make_session_factory(engine), Ledger("test.proctor.kz/log", generate_signer("test.proctor.kz/log")))
    finally:
        engine.dispose()


def test_older_checkpoints_give_older_figures_and_a_late_statement_counts_from_the_first_that_holds_it(
    store: Store,
) -> None:
    college = store.college("Checkpoint College")
    store.catalogue(college, base_catalogue(learners=1))
    store.add(college, [SITE.logged_in(user(1), at(8, 10))])  # Tuesday
    first = store.checkpoint()
    store.add(college, [SITE.logged_in(user(1), at(16, 10))])  # the next Wednesday
    second = store.checkpoint()
    late = SITE.logged_in(user(1), at(7, 9))  # Monday's login, sent by the LMS's cron after the second checkpoint
    store.add(college, [late])
    third = store.checkpoint()
    void = {
        "id": str(uuid.uuid4()),
        "actor": SITE.actor(TEACHER),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": late["id"]},
    }
    store.add(college, [void])
    fourth = store.checkpoint()
    per_week = {size: store.learner(college, "S1", size).logins.per_week for size in (first, second, third, fourth)}
    assert per_week == {first: [1, 0], second: [1, 1], third: [2, 1], fourth: [1, 1]}
    assert store.learner(college, "S1", second).logins.longest_gap_days == 8.0  # Tuesday 10:00 to Wednesday 10:00
    with store.sessions() as db:  # the whole college's computation agrees with the learner's own
        where = basis(db, store.ledger, college, third, at(7, 0), at(21, 0))
        assert compute(db, where).indicators.learners["S1"].logins.per_week == [2, 1]


def test_the_catalogue_in_force_is_the_newest_the_checkpoint_holds(store: Store) -> None:
    college = store.college("Catalogue College")
    store.catalogue(college, base_catalogue(learners=1))
    store.add(college, [SITE.logged_in(user(2), at(8, 10))])
    before = store.checkpoint()
    store.catalogue(college, base_catalogue(learners=2))  # learner 2 enrolled later
    after = store.checkpoint()
    with pytest.raises(FootprintNotFound, match="no learner S2 in catalogue version 1"):
        store.learner(college, "S2", before)
    assert store.learner(college, "S2", after).logins.logins == 1
    with store.sessions() as db:
        assert basis(db, store.ledger, college, before, None, None).catalogue.version == 1
        assert basis(db, store.ledger, college, after, None, None).catalogue.version == 2


def test_two_colleges_with_the_same_ids_and_accounts_never_see_each_others_statements(store: Store) -> None:
    first, second = store.college("First"), store.college("Second")
    for college in (first, second):
        store.catalogue(college, base_catalogue(learners=1))
    store.add(first, [SITE.logged_in(user(1), at(8, 10))])
    store.add(second, [SITE.logged_in(user(1), at(8, 11)), SITE.logged_in(user(1), at(9, 11))])
    size = store.checkpoint()
    assert store.learner(first, "S1", size).logins.logins == 1
    assert store.learner(second, "S1", size).logins.logins == 2
    third = store.college("Third, no catalogue")
    with store.sessions() as db, pytest.raises(FootprintNotFound, match="no catalogue"):
        basis(db, store.ledger, third, size, None, None)


def test_facts_are_written_with_their_statements_or_not_at_all(store: Store) -> None:
    college = store.college("Atomic College")
    login = SITE.logged_in(user(1), at(8, 10))
    store.add(college, [login])
    clash = {**SITE.logged_in(user(1), at(9, 10)), "id": login["id"]}  # same id, other content: 409
    with pytest.raises(Conflict):
        store.add(college, [SITE.logged_in(user(1), at(10, 10)), clash])
    with store.sessions() as db:
        assert db.scalar(select(func.count()).select_from(FactRow)) == 1
        assert db.scalar(text("SELECT count(*) FROM xapi_statements")) == 1


def test_statements_stored_before_the_projection_get_their_facts(db_url: str) -> None:
    engine = make_engine(db_url)
    ledger = Ledger("test.proctor.kz/log")
    try:
        migrate(engine, "0009_desk")
        sessions = make_session_factory(engine)
        statements = [SITE.logged_in(user(1), at(8, 10)), SITE.module_viewed(user(1), COURSE, PAGE, at(8, 11))]
        with sessions.begin() as db:
            college = create_college(db, "Early College")
            for seq, statement in enumerate(statements, start=1):
                stored = {
                    **statement,
                    "stored": "2026-09-08T05:00:00.000000Z",
                    "authority": AUTHORITY,
                    "version": "1.0.0",
                }
                entry = ledger.append(db, "xapi.statement", f"{college}/{statement['id']}", stored)
                db.execute(
                    text(
                        "INSERT INTO xapi_statements (seq, college_id, statement_id, stored, payload, ledger_index) "
                        "VALUES (:q, :c, :i, :s, :p, :l)"
                    ),
                    {
                        "q": seq,
                        "c": college,
                        "i": statement["id"],
                        "s": stored["stored"],
                        "p": json.dumps(stored),
                        "l": entry.index,
                    },
                )
        migrate(engine)
        with sessions() as db:
            kinds = db.execute(select(FactRow.seq, FactRow.kind, FactRow.ledger_index).order_by(FactRow.seq)).all()
            assert [(row.seq, row.kind, row.ledger_index) for row in kinds] == [(1, 1, 0), (2, 3, 1)]
        with engine.begin() as connection:  # running it again projects nothing twice
            assert backfill_facts(connection) == 0
    finally:
        engine.dispose()
