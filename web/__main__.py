"""`python -m web`: run the server with the settings from the environment (`PROCTOR_*`).

`python -m web keys issue COLLEGE NAME --scopes xapi` issues an API key (per college, per LMS) with what it may do and
prints it once (`issue-key` is the same); `keys list`, `keys revoke KEY`, `keys rotate KEY` manage them.
`python -m web create-admin COLLEGE EMAIL FULL_NAME` creates a college's first admin (asks for the password,
or reads it from stdin with `--password-stdin`).
`python -m web self-signed-cert [--host NAME ...] [--days 365] [--force]` writes a self-signed certificate and its
key into `tls/` of the data folder and prints the `PROCTOR_TLS_*` settings that make the server speak HTTPS.
`python -m web rotate-ledger-key` gives the ledger a new signing key; `python -m web sign-out-all [--college NAME]`
ends every desk sign-in (web/rotation.py).
`python -m web backup DIR` copies the running platform (database, media, keys, settings) into DIR;
`python -m web restore DIR` checks such a copy and restores it onto an empty data folder (web/backup.py).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import shlex
import sys
from pathlib import Path

from footprint.accounts import college_named
from footprint.people import PeopleError, Role, add_person
from proctor.nativelog import quiet_native_noise
from proctor.recording.datakeys import DataKeyError
from web import backup, keycli, logs, masterkey, rotation, tls
from web.commands import command
from web.private import private_umask
from web.services import build_services
from web.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("web")

HOW_TO = """proctor.kz platform on %(url)s
  college API:     %(url)s/api/v1   (Authorization: Bearer KEY; exams, candidates, sessions, recordings)
  xAPI endpoint:   %(url)s/xapi   (Basic user:KEY or Bearer KEY; X-Experience-API-Version: 1.0.3 or 2.0.0)
  try it:          %(try_it)s
  ledger:          %(url)s/ledger/checkpoint  %(url)s/ledger/public-key  %(url)s/ledger/keys (every key)
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


def create_admin(
    settings: Settings, college: str, email: str, full_name: str, password_stdin: bool, new_college: bool = False
) -> int:
    """Create a college's admin (the college too with `new_college`); exit 2 with the reason when it cannot be."""
    try:
        password = read_password(password_stdin)
    except PeopleError as exc:
        logger.error("error: %s", exc)
        return 2
    services = build_services(settings)
    try:
        with services.writing() as session:
            college_id = college_named(session, college, create=new_college)
            person = add_person(session, college_id, email, full_name, Role.ADMIN, password)
    except (PeopleError, ValueError) as exc:
        logger.error("error: %s", exc)
        return 2
    finally:
        services.engine.dispose()
    sys.stdout.write(f"admin {person.email} ({person.id}) of {college}\n")
    return 0


def self_signed_cert(settings: Settings, hosts: list[str], days: int, force: bool) -> int:
    """Write `tls/cert.pem` and `tls/key.pem` into the data folder and print the settings to use them."""
    try:
        written = tls.write_self_signed(tls.tls_folder(settings.data_dir), hosts, days, force)
    except (tls.CertificateError, OSError) as exc:
        logger.error("error: %s", exc)
        return 2
    cert, key = written.cert_file.resolve(), written.key_file.resolve()
    sys.stdout.write(
        f"wrote {cert} (self-signed, {days} days, for {', '.join(written.names)}) and {key} (its key, 0600)\n"
        "serve HTTPS with these two settings (and trust the certificate in the browsers, or expect a warning):\n"
        f"  export PROCTOR_TLS_CERT_FILE={shlex.quote(str(cert))}\n"
        f"  export PROCTOR_TLS_KEY_FILE={shlex.quote(str(key))}\n"
        f"  {command('').rstrip()}\n"
    )
    return 0


def curl_trust(settings: Settings) -> str:
    """`--cacert CERT ` for the printed curl when the server's own certificate is self-signed, else nothing."""
    cert = settings.tls_cert_file
    if cert is None or settings.public_url is not None or not tls.is_self_signed(cert):
        return ""
    return f"--cacert {shlex.quote(str(Path(cert).resolve()))} "


def main(argv: list[str] | None = None) -> int:
    """Start uvicorn (or issue a key); exit 2 with one clear line when the settings are wrong."""
    parser = argparse.ArgumentParser(prog="python -m web", description="proctor.kz LRS and ledger server")
    commands = parser.add_subparsers(dest="command")
    keycli.add_commands(commands)
    masterkey.add_commands(commands)
    rotation.add_commands(commands)
    admin_parser = commands.add_parser("create-admin", help="create a college's admin (the first one, say)")
    admin_parser.add_argument("college", help="college name (an existing one, unless --new-college)")
    admin_parser.add_argument("--new-college", action="store_true", help="create the college (its name is new)")
    admin_parser.add_argument("email", help="what the admin signs in with")
    admin_parser.add_argument("full_name", help="the admin's full name")
    admin_parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    cert_parser = commands.add_parser(
        "self-signed-cert", help="write a self-signed TLS certificate and key into tls/ of the data folder"
    )
    cert_parser.add_argument(
        "--host", action="append", default=[], metavar="NAME", help="a name or address clients use (repeatable)"
    )
    cert_parser.add_argument("--days", type=int, default=365, help="days the certificate is valid (365)")
    cert_parser.add_argument("--force", action="store_true", help="replace an existing certificate and key")
    backup_parser = commands.add_parser(
        "backup", help="copy the database, media, keys and settings into DIR (while the server runs)"
    )
    backup_parser.add_argument("dir", type=Path, help="a new or empty folder")
    restore_parser = commands.add_parser("restore", help="restore a backup onto an empty data folder and database")
    restore_parser.add_argument("dir", type=Path, help="a folder written by `backup`")
    args = parser.parse_args(argv)
    # the certificate is made before the settings naming it can hold: those two are not checked for it
    overrides = {"tls_cert_file": None, "tls_key_file": None} if args.command == "self-signed-cert" else {}
    try:
        settings = load_settings(**overrides)
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
        return create_admin(settings, args.college, args.email, args.full_name, args.password_stdin, args.new_college)
    if args.command == "self-signed-cert":
        logs.configure_plain(logging.WARNING)
        return self_signed_cert(settings, args.host, args.days, args.force)
    if args.command == "master-key":
        logs.configure_plain(logging.WARNING)
        return masterkey.run(settings, args)
    if args.command in rotation.COMMANDS:
        logs.configure_plain(logging.WARNING)
        return rotation.run(settings, args)
    if args.command in ("backup", "restore"):
        logs.configure_plain(logging.WARNING)
        return (backup.run_backup if args.command == "backup" else backup.run_restore)(settings, args.dir)
    return serve(settings)


def serve(settings: Settings) -> int:
    """Start the server (the web app, its routes and models are loaded only here: the other commands start fast)."""
    import uvicorn

    from web.app import create_app
    from web.platform import media_storage

    # the models' native notices (TensorFlow Lite, absl) stay out of the server's log (PROCTOR_NATIVE_LOGS=1 keeps
    # them); before the log handlers are made, so that these write to the real stderr
    quiet_native_noise(keep_tracker=True)
    try:
        logs.configure(settings.node, settings.log_level, settings.log_format, settings.log_file)
    except OSError as exc:
        logs.configure_plain(logging.ERROR)
        logger.error("error: PROCTOR_LOG_FILE: cannot write %s: %s", settings.log_file, exc)
        return 2
    try:
        media_storage(settings)  # a missing or wrong master key stops the start here, in one line
    except DataKeyError as exc:
        logger.error("error: %s", exc)
        return 2
    url = settings.base_url
    trust = curl_trust(settings)
    if settings.bootstrap_api_key:
        key = shlex.quote(settings.bootstrap_api_key)
        try_it = f"curl {trust}-u demo:{key} -H 'X-Experience-API-Version: 1.0.3' {url}/xapi/statements"
    else:
        issue = command('keys issue "My College" lms --scopes xapi --new-college')
        try_it = f"KEY=$({issue}); curl {trust}-u lms:$KEY -H 'X-Experience-API-Version: 1.0.3' {url}/xapi/statements"
    for line in (HOW_TO % {"url": url, "try_it": try_it}).splitlines():  # a record is one line (web/logs.py)
        logger.info("%s", line)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the node's structured log (web/logs.py)
        ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
        ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
