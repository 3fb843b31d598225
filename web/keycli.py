"""`python -m web keys …`: issue, list, revoke and rotate a college's API keys from the server's own machine.

A new secret is written to stdout once (only its SHA-256 is kept); everything else goes to stderr, so
`KEY=$(python -m web keys issue …)` holds just the key. Bad input exits 2 with one line and changes nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.accounts import (
    CollegeRow,
    IssuedKey,
    KeyInfo,
    UnknownKey,
    issue_key_for,
    keys_of,
    parse_scopes,
    revoke_key,
    rotate_key,
    scope_text,
)
from web.services import build_services
from web.settings import Settings

logger = logging.getLogger("web")

LMS_SCOPES = "xapi"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `keys` command and its sub-commands, and `issue-key` (the same as `keys issue`)."""
    keys = commands.add_parser("keys", help="a college's API keys: issue, list, revoke, rotate")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    for name, parser in (
        ("issue", actions.add_parser("issue", help="issue a key and print it once")),
        ("issue-key", commands.add_parser("issue-key", help="issue an API key (same as `keys issue`)")),
    ):
        parser.add_argument("college", help="college name (an existing one, unless --new-college)")
        parser.add_argument("name", help="what the key is for, e.g. moodle")
        parser.add_argument("--new-college", action="store_true", help="create the college (its name is new)")
        parser.add_argument(
            "--scopes",
            default=LMS_SCOPES,
            help="what it may do, comma-separated: xapi (an LMS's statements), sessions (exams, candidates, sessions, "
            f"recordings, verdicts), people, footprint, admin (keys, webhooks); default {LMS_SCOPES}",
        )
        parser.set_defaults(key_action="issue", command_name=name)
    listing = actions.add_parser("list", help="the keys of a college (or of every college)")
    listing.add_argument("college", nargs="?", help="college name (default: every college)")
    listing.set_defaults(key_action="list")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key", help="the key's id or prefix (from `keys list`)")
    revoke.set_defaults(key_action="revoke")
    rotate = actions.add_parser("rotate", help="a new secret for a key (same name and scopes); prints it once")
    rotate.add_argument("key", help="the key's id or prefix (from `keys list`)")
    rotate.add_argument(
        "--keep-old-for",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="the old secret keeps working this long (at most 168 hours) so its user can switch; default 0",
    )
    rotate.set_defaults(key_action="rotate")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out a key command; 0, or 2 with the reason on stderr."""
    action = args.key_action
    services = build_services(settings)
    try:
        with services.writing() as db:
            if action == "issue":
                issued = issue_key_for(
                    db, args.college, args.name, parse_scopes(args.scopes), new_college=args.new_college
                )
                return _print_secret(issued)
            if action == "list":
                return _print_keys(db, args.college)
            if action == "revoke":
                info = revoke_key(db, None, args.key)
                sys.stderr.write(f"revoked {info.prefix}… ({info.name}, {info.id})\n")
                return 0
            rotated = rotate_key(db, None, args.key, timedelta(hours=args.keep_old_for))
            return _print_secret(rotated)
    except (ValueError, UnknownKey) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    finally:
        services.engine.dispose()


def _print_secret(issued: IssuedKey) -> int:
    credential = issued.credential
    sys.stderr.write(
        f"key {issued.secret[:12]}… ({credential.id}) for {credential.college_name} / {credential.name}, "
        f"scopes {scope_text(credential.scopes)}; it is shown once:\n"
    )
    sys.stdout.write(issued.secret + "\n")
    return 0


def _print_keys(db: Session, college: str | None) -> int:
    query = select(CollegeRow.id, CollegeRow.name).order_by(CollegeRow.name)
    if college is not None:
        query = query.where(CollegeRow.name == college)
    colleges = db.execute(query).all()
    if college is not None and not colleges:
        raise ValueError(f"no college named {college!r}")
    sys.stdout.write("college\tid\tprefix\tname\tscopes\tcreated\tlast used\tstate\n")
    for college_id, name in colleges:
        for key in keys_of(db, college_id):
            sys.stdout.write(f"{name}\t{_row(key)}\n")
    return 0


def _row(key: KeyInfo) -> str:
    state = "active" if key.active() else "revoked" if key.revoked_at else "expired"
    if key.active() and key.expires_at is not None:
        state = f"ends {key.expires_at.isoformat(timespec='seconds')}"
    used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
    created = key.created_at.isoformat(timespec="seconds")
    return f"{key.id}\t{key.prefix}\t{key.name}\t{scope_text(key.scopes)}\t{created}\t{used}\t{state}"
