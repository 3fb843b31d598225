"""`python -m web sign-out-all [--college NAME]`: every desk sign-in ends (of one college, or of all), so everyone signs
in again; a misspelt college changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from footprint.accounts import create_college
from footprint.people import Role, add_person
from footprint.signins import open_sign_in, signed_in
from footprint.store import make_engine, make_session_factory, migrate
from web import __main__ as main_module


@pytest.fixture
def kept_umask() -> Iterator[None]:
    """The test process's umask back after a command that sets its own."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_sign_out_all_ends_every_desk_sign_in_of_a_college_then_of_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], kept_umask: None
) -> None:
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PROCTOR_DATABASE_URL", db_url)
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    tokens: dict[str, list[str]] = {}
    with sessions.begin() as db:
        for college in ("Almaty College", "Astana College"):
            college_id = create_college(db, college)
            for who in ("admin", "examiner"):
                role = Role.ADMIN if who == "admin" else Role.EXAMINER
                person = add_person(db, college_id, f"{who}@{college[:6].lower()}.kz", who, role, "a long password 1")
                tokens.setdefault(college, []).append(open_sign_in(db, person).token)

    def still_signed_in() -> dict[str, int]:
        with sessions() as db:
            return {college: sum(signed_in(db, t) is not None for t in ts) for college, ts in tokens.items()}

    try:
        assert main_module.main(["sign-out-all", "--college", "Almaty Colege"]) == 2
        err = capsys.readouterr().err
        assert "no college named 'Almaty Colege'" in err and err.count("\n") == 1
        assert still_signed_in() == {"Almaty College": 2, "Astana College": 2}

        assert main_module.main(["sign-out-all", "--college", "Almaty College"]) == 0
        assert capsys.readouterr().out == "ended 2 desk sign-ins of Almaty College: everyone signs in again\n"
        assert still_signed_in() == {"Almaty College": 0, "Astana College": 2}

        assert main_module.main(["sign-out-all"]) == 0
        assert capsys.readouterr().out == "ended 2 desk sign-ins: everyone signs in again\n"
        assert still_signed_in() == {"Almaty College": 0, "Astana College": 0}
    finally:
        engine.dispose()
