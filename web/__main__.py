"""`python -m web`: run the server with the settings from the environment (`PROCTOR_*`).

`python -m web keys issue COLLEGE NAME --scopes xapi` issues an API key (per college, per LMS) with what it may do and
prints it once (`issue-key` is the same); `keys list`, `keys revoke KEY`, `keys rotate KEY` manage them.
`python -m web create-admin COLLEGE EMAIL FULL_NAME` creates a college's first admin (asks for the password,
or reads it from stdin with `--password-stdin`).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import shlex
import sys

import uvicorn
from sqlalchemy import select

from footprint.accounts import CollegeRow, create_college
from footprint.people import PeopleError, Role, add_person
from web import keycli, logs
from web.app import build_services, create_app
from web.commands import command
from web.private import private_umask
from web.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("web")

HOW_TO = """proctor.kz platform on %(url)s
  college API:     %(url)s/api/v1   (Authorization: Bearer KEY; exams, candidates, sessions, recordings)
  xAPI endpoint:   %(url)s/xapi   (Basic user:KEY or Bearer KEY; X-Experience-API-Version: 1.0.3 or 2.0.0)
  try it:          %(try_it)s
  ledger:          %(url)s/ledger/checkpoint  %(url)s/ledger/public-key
                   %(url)s/ledger/proof/inclusion?statementId=ID (your key)  or ?leafHash=HASH (no key)
                   %(url)s/ledger/proof/consistency?first=M&second=N
  API docs:        %(url)s/docs"""


def read_password(from_stdin: bool) -> str:
    """The new admin's password: one line of stdin, or asked twice on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password for the new admin: ")
    if getpass.getpass("the same password again: ") != first:
        raise PeopleError("the two passwords differ")
    return first


def create_admin(settings: Settings, college: str, email: str, full_name: str, password_stdin: bool) -> int:
    """Create a college's admin (the college too when it is new); exit 2 with the reason when it cannot be."""
    try:
        password = read_password(password_stdin)
    except PeopleError as exc:
        logger.error("error: %s", exc)
        return 2
    services = build_services(settings)
    try:
        with services.writing() as session:
            existing = session.scalar(select(CollegeRow.id).where(CollegeRow.name == college))
            person = add_person(
                session, existing or create_college(session, college), email, full_name, Role.ADMIN, password
            )
    except PeopleError as exc:
        logger.error("error: %s", exc)
        return 2
    finally:
        services.engine.dispose()
    sys.stdout.write(f"admin {person.email} ({person.id}) of {college}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start uvicorn (or issue a key); exit 2 with one clear line when the settings are wrong."""
    parser = argparse.ArgumentParser(prog="python -m web", description="proctor.kz LRS and ledger server")
    commands = parser.add_subparsers(dest="command")
    keycli.add_commands(commands)
    admin_parser = commands.add_parser("create-admin", help="create a college's admin (the first one, say)")
    admin_parser.add_argument("college", help="college name (created if new)")
    admin_parser.add_argument("email", help="what the admin signs in with")
    admin_parser.add_argument("full_name", help="the admin's full name")
    admin_parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        logs.configure_plain(logging.ERROR)
        logger.error("error: %s", exc)
        return 2
    private_umask()
    if args.command in ("issue-key", "keys"):
        logs.configure_plain(logging.WARNING)
        return keycli.run(settings, args)
    if args.command == "create-admin":
        logs.configure_plain(logging.WARNING)
        return create_admin(settings, args.college, args.email, args.full_name, args.password_stdin)
    logs.configure(settings.node, settings.log_level, settings.log_format)
    url = settings.base_url
    if settings.bootstrap_api_key:
        key = shlex.quote(settings.bootstrap_api_key)
        try_it = f"curl -u demo:{key} -H 'X-Experience-API-Version: 1.0.3' {url}/xapi/statements"
    else:
        issue = command('keys issue "My College" lms --scopes xapi')
        try_it = f"KEY=$({issue}); curl -u lms:$KEY -H 'X-Experience-API-Version: 1.0.3' {url}/xapi/statements"
    for line in (HOW_TO % {"url": url, "try_it": try_it}).splitlines():  # a record is one line (web/logs.py)
        logger.info("%s", line)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the node's structured log (web/logs.py)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
