"""`python -m web rotate-ledger-key` and `python -m web sign-out-all [--college NAME]`: rotating the platform's secrets.

- `rotate-ledger-key` retires the ledger's signing key for a new one (footprint/ledger/rotation.py): the handover
  checkpoint is signed by both, `ledger.keys.json` beside the key lists every key with its validity (published at
  `/ledger/keys`), `ledger.pub` holds the new key and the old private key is gone. Run it with every node stopped,
  then start them: a server signs with the key it loaded at start. The secrets derived from the ledger key (the
  desk's device cookies of the login throttle, `Services.secret`) change with it.
- `sign-out-all` ends every desk sign-in (of one college with `--college`): a sign-in is a random token kept in the
  database, not signed by a server secret, so ending them all is what rotating the desk's session secrets means.

Both print what they did to stdout and exit 0, or exit 2 with one line on stderr and nothing changed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from footprint.accounts import college_named
from footprint.ledger.history import history_file
from footprint.ledger.rotation import RotationError, rotate_key
from footprint.signins import end_all_sign_ins
from footprint.store import make_engine, make_session_factory, migrate
from footprint.store.engine import StoreError
from web.settings import Settings

logger = logging.getLogger("web")

COMMANDS = ("rotate-ledger-key", "sign-out-all")


def add_commands(commands: Any) -> None:
    """The two commands' parsers."""
    commands.add_parser(
        "rotate-ledger-key",
        help="a new ledger signing key (the old one's public half stays published with its validity); "
        "stop every node first, start them after",
    )
    sign_out = commands.add_parser("sign-out-all", help="end every desk sign-in: everyone signs in again")
    sign_out.add_argument("--college", help="only the sign-ins of this college's people")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one of the commands; 0, or 2 with the reason on stderr."""
    try:
        if args.command == "rotate-ledger-key":
            return rotate_ledger_key(settings, datetime.now(UTC))
        return sign_out_all(settings, args.college)
    except (RotationError, ValueError, StoreError) as exc:
        sys.stderr.write(f"error: {exc}\n")
    except SQLAlchemyError as exc:
        sys.stderr.write(f"error: cannot use the database: {exc.__class__.__name__}\n")
    return 2


def rotate_ledger_key(settings: Settings, now: datetime) -> int:
    """Rotate the ledger key of `settings` as of `now` and say what was done."""
    key_file = settings.key_file
    if not key_file.is_file():
        raise RotationError(f"no ledger key at {key_file} to rotate (the server makes one on its first start)")
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
        origin = settings.ledger_origin.replace(" ", "_")
        rotation = rotate_key(make_session_factory(engine).begin, origin, key_file, now)
    finally:
        engine.dispose()
    size = rotation.handover.checkpoint.tree_size
    sys.stdout.write(
        f"retired ledger key {rotation.retired.verifier} ({rotation.retired.validity()})\n"
        f"new ledger key {rotation.current.verifier} signs from tree size {size} (its checkpoint carries both "
        "signatures)\n"
        f"every key and its validity: {history_file(key_file)} (served at /ledger/keys); "
        f"{key_file.with_name('ledger.pub')} holds the new key; the old private key is deleted\n"
        "start the server (every node) now: it signs with the new key from its start\n"
    )
    return 0


def sign_out_all(settings: Settings, college: str | None) -> int:
    """End every desk sign-in (of `college` only, when named) and say how many."""
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
        with make_session_factory(engine).begin() as db:
            college_id = None if college is None else college_named(db, college)
            ended = end_all_sign_ins(db, college_id)
    finally:
        engine.dispose()
    whose = "" if college is None else f" of {college}"
    sys.stdout.write(f"ended {ended} desk sign-ins{whose}: everyone signs in again\n")
    return 0
