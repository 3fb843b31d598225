"""Rotating the ledger's signing key: every checkpoint verifies under the key of its tree size, offline and in the
audit; a retired key's checkpoint past its validity is refused; a failed rotation changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from footprint.audit import FindingKind, audit
from footprint.cli import cli
from footprint.ledger import Ledger, Record, Signer, generate_signer, load_signer, write_keypair
from footprint.ledger.checkpoint import Checkpoint, sign
from footprint.ledger.history import HISTORY_FILE, KeyHistory, KeyValidityError, read_history
from footprint.ledger.keys import private_pem
from footprint.ledger.rotation import RotationError, rotate_key
from footprint.ledger.service import CHECKPOINTS
from footprint.store import make_engine, make_session_factory, migrate

ORIGIN = "footprint.test/rotation"
FIRST_ROTATION = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
SECOND_ROTATION = datetime(2030, 2, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rotated:
    """A ledger of 10 records whose key was rotated twice, and what each key signed."""

    folder: Path
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    signers: tuple[Signer, Signer, Signer]
    notes: dict[int, str]  # tree size -> the stored checkpoint note

    @property
    def key_file(self) -> Path:
        return self.folder / "keys" / "ledger.key"

    def ledger(self) -> Ledger:
        """The ledger as a server started now would load it."""
        return Ledger(ORIGIN, load_signer(self.key_file, ORIGIN))


def _append(ledger: Ledger, sessions: sessionmaker[Session], start: int, count: int, sign_it: bool = True) -> None:
    with sessions.begin() as session:
        ledger.append_many(session, [Record("k", str(i), {"n": i}) for i in range(start, start + count)])
        if sign_it:
            ledger.checkpoint(session)


@pytest.fixture
def rotated(tmp_path: Path, db_url: str) -> Iterator[Rotated]:
    """Checkpoints at 3 (key 1), the handover at 3 (keys 1 and 2), 6 (key 2), the handover at 8 (keys 2 and 3, the
    head having moved since 6) and 10 (key 3)."""
    write_keypair(generate_signer(ORIGIN), tmp_path / "keys")
    key_file = tmp_path / "keys" / "ledger.key"
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    first = load_signer(key_file, ORIGIN)
    _append(Ledger(ORIGIN, first), sessions, 0, 3)
    rotate_key(sessions.begin, ORIGIN, key_file, FIRST_ROTATION)
    second = load_signer(key_file, ORIGIN)
    _append(Ledger(ORIGIN, second), sessions, 3, 3)
    _append(Ledger(ORIGIN, second), sessions, 6, 2, sign_it=False)
    rotation = rotate_key(sessions.begin, ORIGIN, key_file, SECOND_ROTATION)
    assert rotation.handover.checkpoint.tree_size == 8
    third = load_signer(key_file, ORIGIN)
    _append(Ledger(ORIGIN, third), sessions, 8, 2)
    with sessions() as session:
        rows = session.execute(select(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.note))
        notes = {int(size): str(note) for size, note in rows}
    try:
        yield Rotated(tmp_path, db_url, engine, sessions, (first, second, third), notes)
    finally:
        engine.dispose()


def _write_proof(r: Rotated, tree_size: int) -> list[str]:
    """Files proving record 1 in the checkpoint of `tree_size`; the `footprint verify inclusion` arguments."""
    with r.sessions() as session:
        proof = r.ledger().inclusion_proof(session, 1, tree_size)
    (r.folder / "statement.json").write_text(json.dumps({"n": 1}))
    (r.folder / f"proof-{tree_size}.json").write_text(json.dumps(proof.to_json()))
    (r.folder / f"{tree_size}.note").write_text(r.notes[tree_size])
    return ["verify", "inclusion", "--statement", str(r.folder / "statement.json")] + [
        "--proof",
        str(r.folder / f"proof-{tree_size}.json"),
        "--checkpoint",
        str(r.folder / f"{tree_size}.note"),
    ]


def test_every_key_is_kept_public_with_its_validity_and_only_the_new_private_key(rotated: Rotated) -> None:
    history = read_history(rotated.key_file)
    assert history is not None
    keys = [key.verifier for key in history.keys]
    assert keys == [signer.verifier for signer in rotated.signers]
    windows = [(key.first_tree_size, key.last_tree_size) for key in history.keys]
    assert windows == [(0, 3), (3, 8), (8, None)]
    assert [key.valid_until for key in history.keys] == [FIRST_ROTATION, SECOND_ROTATION, None]
    assert [key.valid_from for key in history.keys][1:] == [FIRST_ROTATION, SECOND_ROTATION]
    assert history.keys[0].valid_from is not None  # when the first key signed its first checkpoint
    folder = rotated.key_file.parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(["ledger.key", "ledger.pub", HISTORY_FILE])
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
    assert (folder / "ledger.pub").read_text().strip() == rotated.signers[2].verifier
    assert private_pem(load_signer(rotated.key_file, ORIGIN)) == private_pem(rotated.signers[2])
    assert KeyHistory.from_json(json.loads((folder / HISTORY_FILE).read_text())) == history


def test_each_checkpoint_verifies_under_the_key_of_its_time_offline_and_in_the_audit(rotated: Rotated) -> None:
    assert sorted(rotated.notes) == [3, 6, 8, 10]
    assert rotated.notes[3].count("\n\u2014 ") == 2 and rotated.notes[8].count("\n\u2014 ") == 2  # the handovers
    history = rotated.key_file.with_name(HISTORY_FILE)
    runner = CliRunner()
    for size in sorted(rotated.notes):
        verified = runner.invoke(cli, [*_write_proof(rotated, size), "--public-key", str(history)])
        assert verified.exit_code == 0, verified.output
        assert f"at tree size {size}" in verified.output
    with rotated.sessions() as session:
        proof = rotated.ledger().consistency_proof(session, 3, 10)
    (rotated.folder / "consistency.json").write_text(json.dumps(proof.to_json()))
    consistent = runner.invoke(
        cli,
        ["verify", "consistency", "--old", str(rotated.folder / "3.note"), "--new", str(rotated.folder / "10.note")]
        + ["--proof", str(rotated.folder / "consistency.json"), "--public-key", str(history)],
    )
    assert consistent.exit_code == 0, consistent.output

    # the current key alone no longer checks what the retired keys signed
    only_new = runner.invoke(cli, [*_write_proof(rotated, 6), "--public-key", str(history.with_name("ledger.pub"))])
    assert only_new.exit_code == 1 and "no signature" in only_new.stderr

    audited = runner.invoke(cli, ["audit", rotated.url, "--public-key", str(history)])
    assert audited.exit_code == 0, audited.output
    assert audited.output.startswith("clean: 10 rows, tree size 10, 4 checkpoints")


def test_a_checkpoint_signed_by_a_retired_key_after_its_validity_is_refused(rotated: Rotated) -> None:
    history = read_history(rotated.key_file)
    assert history is not None
    retired = rotated.signers[0]  # valid for tree sizes 0..3, as a thief of the old key file would hold it
    with rotated.sessions() as session:
        root = rotated.ledger().root(session, 10)
    forged = sign(Checkpoint(ORIGIN, 10, root), retired.name, retired.private_key).note
    with pytest.raises(KeyValidityError, match="tree size 10 is signed only by a key not valid for it"):
        history.verify(forged)
    stranger = generate_signer(ORIGIN)
    with pytest.raises(KeyValidityError, match="no signature by a published key"):
        history.verify(sign(Checkpoint(ORIGIN, 10, root), stranger.name, stranger.private_key).note)

    runner = CliRunner()
    arguments = _write_proof(rotated, 10)
    (rotated.folder / "10.note").write_text(forged)
    refused = runner.invoke(cli, [*arguments, "--public-key", str(rotated.key_file.with_name(HISTORY_FILE))])
    assert refused.exit_code == 1
    assert "signed only by a key not valid for it" in refused.stderr and "tree sizes 0..3" in refused.stderr

    with rotated.sessions.begin() as session:  # the forged note stored in place of the real one
        session.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == 10).values(note=forged))
    with rotated.sessions() as session:
        report = audit(session, history)
    assert [(f.kind, f.detail.split(":")[0]) for f in report.findings] == [
        (FindingKind.BAD_SIGNATURE, "checkpoint at size 10")
    ]
    audited = runner.invoke(cli, ["audit", rotated.url, "--public-key", str(rotated.key_file.with_name(HISTORY_FILE))])
    assert audited.exit_code == 1 and "bad-signature" in audited.output


def test_a_key_history_that_does_not_hold_together_is_refused(rotated: Rotated) -> None:
    history = read_history(rotated.key_file)
    assert history is not None
    as_json = history.to_json()
    as_json["keys"][1]["firstTreeSize"] = 4  # a gap between the first key's window and the second's
    runner = CliRunner()
    (rotated.folder / "gap.json").write_text(json.dumps(as_json))
    bad = runner.invoke(cli, ["audit", rotated.url, "--public-key", str(rotated.folder / "gap.json")])
    assert bad.exit_code == 2 and "does not begin where the key before it ended" in bad.stderr


def test_rotation_without_a_key_or_with_a_stale_one_changes_nothing(rotated: Rotated) -> None:
    with pytest.raises(RotationError, match="no ledger key at .* to rotate"):
        rotate_key(rotated.sessions.begin, ORIGIN, rotated.folder / "nowhere" / "ledger.key", SECOND_ROTATION)
    assert not (rotated.folder / "nowhere").exists()

    rotated.key_file.write_bytes(private_pem(rotated.signers[1]))  # a retired key put back (an old backup's)
    before = _files(rotated)
    with pytest.raises(RotationError, match="not the current key of its history"):
        rotate_key(rotated.sessions.begin, ORIGIN, rotated.key_file, SECOND_ROTATION)
    assert _files(rotated) == before


def _files(r: Rotated) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in r.key_file.parent.iterdir()}


def test_a_rotation_whose_transaction_fails_leaves_keys_history_and_checkpoints_as_they_were(rotated: Rotated) -> None:
    before = _files(rotated)

    @contextmanager
    def failing_commit() -> Iterator[Session]:
        with rotated.sessions() as session:
            yield session
            session.rollback()
            raise ConnectionError("the database went away at commit")

    with pytest.raises(ConnectionError):
        rotate_key(failing_commit, ORIGIN, rotated.key_file, datetime(2030, 3, 1, tzinfo=UTC))
    assert _files(rotated) == before  # no staged `.new` file left either
    with rotated.sessions() as session:
        assert rotated.ledger().checkpoint_at(session, 10) is not None
        stored = rotated.ledger().latest_checkpoint(session)
    assert stored is not None and stored.note == rotated.notes[10]
