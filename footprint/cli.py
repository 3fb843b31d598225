"""The `footprint` command: verify proofs offline, audit a ledger database, make signing keys, migrate.

Exit codes: 0 verified / clean, 1 verification failed / tampering found, 2 bad input (one message).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from footprint.audit import AuditReport, audit
from footprint.ledger.checkpoint import CheckpointError
from footprint.ledger.keys import generate_signer, write_keypair
from footprint.store import make_engine, make_session_factory, migrate
from footprint.store.engine import StoreError, normalise_url
from footprint.verify import (
    BadInput,
    VerificationFailed,
    check_consistency,
    check_inclusion,
    read_json,
    read_text,
    read_verifier,
)

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
FILE = click.Path(path_type=Path, dir_okay=False)
PUBLIC_KEY_HELP = (
    "The ledger's verifier key string (ledger.pub), or its key history (ledger.keys.json, GET /ledger/keys): each "
    "checkpoint is then checked under the key of its tree size."
)


def _bad_input(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_BAD_INPUT)


def _failed(message: str) -> NoReturn:
    click.echo(f"FAILED: {message}", err=True)
    raise SystemExit(EXIT_FAILED)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def cli(verbose: bool) -> None:
    """Verified digital footprint: ledger proofs, audits and keys."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@cli.group("verify")
def verify_group() -> None:
    """Check ledger evidence offline with nothing but the ledger's public key."""


@verify_group.command("inclusion")
@click.option("--statement", type=FILE, required=True, help="The record as JSON (e.g. an xAPI statement).")
@click.option("--proof", type=FILE, required=True, help='Inclusion proof JSON: {"leafIndex", "treeSize", "auditPath"}.')
@click.option("--checkpoint", type=FILE, required=True, help="The signed checkpoint note.")
@click.option("--public-key", type=FILE, required=True, help=PUBLIC_KEY_HELP)
def verify_inclusion_command(statement: Path, proof: Path, checkpoint: Path, public_key: Path) -> None:
    """Prove that a statement is in the ledger under a signed checkpoint."""
    try:
        verdict = check_inclusion(
            read_json(statement, "statement"),
            read_json(proof, "proof"),
            read_text(checkpoint, "checkpoint"),
            read_verifier(public_key),
        )
    except BadInput as exc:
        _bad_input(str(exc))
    except VerificationFailed as exc:
        _failed(str(exc))
    cp = verdict.checkpoint
    click.echo(
        f"OK: leaf {verdict.leaf_index} of {cp.origin} at tree size {cp.tree_size} (leaf {verdict.leaf_hash.hex()})"
    )


@verify_group.command("consistency")
@click.option("--old", "old", type=FILE, required=True, help="The earlier signed checkpoint note.")
@click.option("--new", "new", type=FILE, required=True, help="The later signed checkpoint note.")
@click.option("--proof", type=FILE, required=True, help='Consistency proof JSON: {"first", "second", "proof"}.')
@click.option("--public-key", type=FILE, required=True, help=PUBLIC_KEY_HELP)
def verify_consistency_command(old: Path, new: Path, proof: Path, public_key: Path) -> None:
    """Prove that the later checkpoint extends the earlier one without rewriting history."""
    try:
        verdict = check_consistency(
            read_text(old, "old checkpoint"),
            read_text(new, "new checkpoint"),
            read_json(proof, "proof"),
            read_verifier(public_key),
        )
    except BadInput as exc:
        _bad_input(str(exc))
    except VerificationFailed as exc:
        _failed(str(exc))
    click.echo(f"OK: {verdict.new.origin} at size {verdict.new.tree_size} extends size {verdict.old.tree_size}")


@verify_group.command("report")
@click.option("--bundle", type=FILE, required=True, help="Evidence bundle JSON (GET /api/v1/footprint/evidence/…).")
@click.option("--public-key", type=FILE, required=True, help=PUBLIC_KEY_HELP)
def verify_report_command(bundle: Path, public_key: Path) -> None:
    """Prove a footprint report: its checkpoint, catalogue and statements, and its figures recomputed."""
    from footprint.verify_report import check_report  # the indicators load numpy: only for this command

    try:
        verdict = check_report(read_json(bundle, "bundle"), read_verifier(public_key))
    except BadInput as exc:
        _bad_input(str(exc))
    except VerificationFailed as exc:
        _failed(str(exc))
    cp = verdict.checkpoint
    click.echo(
        f"OK: {verdict.scope} {verdict.item} at tree size {cp.tree_size} of {cp.origin}: catalogue version "
        f"{verdict.catalogue_version} and {verdict.statements} statements proven, figures recomputed"
    )


def _engine_for(database_url: str) -> Engine:
    try:
        url = normalise_url(database_url)
    except StoreError as exc:
        _bad_input(str(exc))
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        _bad_input(f"no SQLite database at {url.database!r}")
    return make_engine(url)


@cli.command("audit")
@click.argument("database_url")
@click.option(
    "--public-key",
    type=FILE,
    help="Also check every stored checkpoint's signature with this key, or with the key of its tree size in this key "
    "history (ledger.keys.json, GET /ledger/keys).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit_command(database_url: str, public_key: Path | None, as_json: bool) -> None:
    """Recompute the ledger from its rows; exit 1 and list the rows if anything was tampered with."""
    try:
        verifier = read_verifier(public_key) if public_key else None
    except BadInput as exc:
        _bad_input(str(exc))
    engine = _engine_for(database_url)
    try:
        if not inspect(engine).has_table("ledger_entries"):
            _bad_input("the database holds no ledger (run `footprint migrate` first)")
        with make_session_factory(engine)() as session:
            report = audit(session, verifier)
    except SQLAlchemyError as exc:
        _bad_input(f"cannot read the database: {exc.__class__.__name__}: {exc.args[0] if exc.args else exc}")
    finally:
        engine.dispose()
    _print_report(report, as_json)
    if not report.clean:
        raise SystemExit(EXIT_FAILED)


def _print_report(report: AuditReport, as_json: bool) -> None:
    if as_json:
        findings = [{"kind": f.kind.value, "index": f.index, "detail": f.detail} for f in report.findings]
        summary = {"treeSize": report.tree_size, "rows": report.rows, "checkpoints": report.checkpoints}
        click.echo(
            json.dumps(
                {**summary, "clean": report.clean, "tamperedRows": list(report.tampered_indexes), "findings": findings}
            )
        )
        return
    if report.clean:
        click.echo(f"clean: {report.rows} rows, tree size {report.tree_size}, {report.checkpoints} checkpoints")
        return
    click.echo(
        f"TAMPERED: {len(report.findings)} findings; rows {', '.join(map(str, report.tampered_indexes)) or 'none'}"
    )
    for finding in report.findings:
        where = "-" if finding.index is None else str(finding.index)
        click.echo(f"{finding.kind.value:20} {where:>8}  {finding.detail}")


@cli.command("keygen")
@click.option(
    "--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Folder for the key files."
)
@click.option("--name", default="footprint.local/ledger", show_default=True, help="Key name (usually the log origin).")
def keygen_command(out: Path, name: str) -> None:
    """Create an Ed25519 ledger key: ledger.key (private, 0600) and ledger.pub (verifier key string)."""
    try:
        files = write_keypair(generate_signer(name), out)
    except (CheckpointError, OSError) as exc:
        _bad_input(str(exc))
    click.echo(f"private key: {files.private_key}\nverifier key: {files.verifier_key}")


@cli.command("migrate")
@click.argument("database_url")
def migrate_command(database_url: str) -> None:
    """Create or upgrade the platform database to the newest schema."""
    try:
        migrate(normalise_url(database_url))
    except StoreError as exc:
        _bad_input(str(exc))
    except SQLAlchemyError as exc:
        _bad_input(f"cannot migrate the database: {exc.__class__.__name__}")
    click.echo("database is at the newest schema")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="footprint")
