"""Every xAPI row belongs to a college; statements know their ledger leaf; leaves are found by hash.

Each college becomes its own learning record store: statement ids are unique per college, and the
key, void, activity, attachment and document tables carry the college in their primary keys so that
every read filters on it first. Statements stored before this revision are given to the college of
the credential named in their `authority` (or, for the platform's own proctoring statements, to the
college of the session in `context.registration`); their ledger leaves keep their old record ids.
Documents stored before it cannot be attributed (no credential was recorded with them), so each one
is copied to every college that existed then: nothing accepted is lost, and the count is logged.

Revision ID: 0004_tenancy
Revises: 0003_sessions
Create Date: 2026-11-25
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0004_tenancy"
down_revision: str | Sequence[str] | None = "0003_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

CREDENTIAL_HOME = "https://proctor.kz/credentials/"
LEDGER_KIND = "xapi.statement"


def _merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        merged[key] = (
            {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def _definitions(statement: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    target = statement.get("object", {})
    if target.get("objectType", "Activity") == "Activity" and "definition" in target:
        yield target["id"], target["definition"]
    if target.get("objectType") == "SubStatement":
        yield from _definitions(target)
    for entries in statement.get("context", {}).get("contextActivities", {}).values():
        for entry in entries if isinstance(entries, list) else [entries]:
            if "definition" in entry:
                yield entry["id"], entry["definition"]


def _owner(statement: Mapping[str, Any], colleges: set[str], session_colleges: Mapping[str, str]) -> str | None:
    home = str(statement.get("authority", {}).get("account", {}).get("homePage", ""))
    if home.startswith(CREDENTIAL_HOME) and home[len(CREDENTIAL_HOME) :] in colleges:
        return home[len(CREDENTIAL_HOME) :]
    registration = str(statement.get("context", {}).get("registration", "")).lower()
    return session_colleges.get(registration)


class Backfill(NamedTuple):
    """What the row-by-row pass found: colleges (oldest first), attachment owners, per-college definitions."""

    colleges: list[str]
    attachment_owners: dict[str, list[str]]
    definitions: dict[tuple[str, str], dict[str, Any]]


def _backfill(connection: sa.Connection) -> Backfill:
    colleges = [row.id for row in connection.execute(sa.text("SELECT id FROM colleges ORDER BY created_at, id"))]
    if not colleges:
        return Backfill(colleges, {}, {})
    known = set(colleges)
    session_colleges = {
        row.id: row.college_id
        for row in connection.execute(
            sa.text("SELECT s.id, e.college_id FROM exam_sessions s JOIN exams e ON e.id = s.exam_id")
        )
    }
    ledger = {
        row.record_id: row.index
        for row in connection.execute(
            sa.text('SELECT record_id, "index" FROM ledger_entries WHERE kind = :kind'), {"kind": LEDGER_KIND}
        )
    }
    updates: list[dict[str, Any]] = []
    attachment_owners: dict[str, list[str]] = {}
    definitions: dict[tuple[str, str], dict[str, Any]] = {}
    guessed = 0
    for row in connection.execute(sa.text("SELECT seq, statement_id, payload FROM xapi_statements ORDER BY seq")):
        statement = json.loads(row.payload)
        owner = _owner(statement, known, session_colleges)
        if owner is None:
            owner, guessed = colleges[0], guessed + 1
        updates.append({"seq": row.seq, "college": owner, "leaf": ledger[row.statement_id]})
        for attachment in statement.get("attachments", []):
            owners = attachment_owners.setdefault(str(attachment["sha2"]).lower(), [])
            if owner not in owners:
                owners.append(owner)
        for activity_id, definition in _definitions(statement):
            key = (owner, activity_id)
            definitions[key] = _merge(definitions.get(key, {}), definition)
    if guessed:
        logger.warning("%d statements name no known college; given to the oldest college", guessed)
    if updates:
        connection.execute(
            sa.text("UPDATE xapi_statements SET college_id = :college, ledger_index = :leaf WHERE seq = :seq"), updates
        )
    connection.execute(
        sa.text(
            "UPDATE xapi_statement_keys SET college_id = "
            "(SELECT s.college_id FROM xapi_statements s WHERE s.seq = xapi_statement_keys.seq)"
        )
    )
    connection.execute(
        sa.text(
            "UPDATE xapi_voids SET college_id = "
            "(SELECT s.college_id FROM xapi_statements s WHERE s.statement_id = xapi_voids.voiding_id)"
        )
    )
    for sha2 in [r.sha2 for r in connection.execute(sa.text("SELECT sha2 FROM xapi_attachments"))]:
        owners = attachment_owners.get(sha2, [colleges[0]])
        connection.execute(
            sa.text("UPDATE xapi_attachments SET college_id = :college WHERE sha2 = :sha2"),
            {"college": owners[0], "sha2": sha2},
        )
    return Backfill(colleges, attachment_owners, definitions)


def upgrade() -> None:
    for name in (
        "xapi_statements",
        "xapi_statement_keys",
        "xapi_voids",
        "xapi_activities",
        "xapi_attachments",
        "xapi_documents",
    ):
        op.add_column(name, sa.Column("college_id", sa.String(36), nullable=True))
    op.add_column("xapi_statements", sa.Column("ledger_index", sa.BigInteger(), nullable=True))
    connection = op.get_bind()
    found = _backfill(connection)
    colleges, attachment_owners, definitions = found.colleges, found.attachment_owners, found.definitions
    documents = connection.execute(sa.text("SELECT count(*) FROM xapi_documents")).scalar_one()
    if colleges:
        connection.execute(sa.text("UPDATE xapi_documents SET college_id = :c"), {"c": colleges[0]})
    connection.execute(sa.text("DELETE FROM xapi_activities"))  # rebuilt per college below

    with op.batch_alter_table("xapi_statements") as batch:
        batch.alter_column("college_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("ledger_index", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint("uq_xapi_statements_statement_id", type_="unique")
        batch.create_unique_constraint("uq_xapi_statements_college_id_statement_id", ["college_id", "statement_id"])
        batch.create_foreign_key("fk_xapi_statements_college_id_colleges", "colleges", ["college_id"], ["id"])
        batch.drop_index("ix_xapi_statements_stored")
        batch.create_index("ix_xapi_statements_college_stored", ["college_id", "stored"])
        batch.create_index("ix_xapi_statements_college_seq", ["college_id", "seq"])
    for name, key in (
        ("xapi_statement_keys", ["college_id", "key", "seq"]),
        ("xapi_voids", ["college_id", "voided_id"]),
        ("xapi_activities", ["college_id", "activity_id"]),
        ("xapi_attachments", ["college_id", "sha2"]),
        ("xapi_documents", ["college_id", "kind", "activity_id", "agent_key", "registration", "document_id"]),
    ):
        with op.batch_alter_table(name) as batch:
            batch.alter_column("college_id", existing_type=sa.String(36), nullable=False)
            batch.drop_constraint(f"pk_{name}", type_="primary")
            batch.create_primary_key(f"pk_{name}", key)

    for sha2, owners in attachment_owners.items():
        for owner in owners[1:]:
            connection.execute(
                sa.text(
                    "INSERT INTO xapi_attachments (college_id, sha2, content_type, content) "
                    "SELECT :college, sha2, content_type, content FROM xapi_attachments "
                    "WHERE college_id = :first AND sha2 = :sha2"
                ),
                {"college": owner, "first": owners[0], "sha2": sha2},
            )
    if definitions:
        connection.execute(
            sa.text("INSERT INTO xapi_activities (college_id, activity_id, definition) VALUES (:c, :a, :d)"),
            [{"c": c, "a": a, "d": json.dumps(d, ensure_ascii=False)} for (c, a), d in definitions.items()],
        )
    if documents and len(colleges) > 1:
        columns = "kind, activity_id, agent_key, registration, document_id, content_type, content, etag, updated"
        for college in colleges[1:]:
            connection.execute(
                sa.text(
                    f"INSERT INTO xapi_documents (college_id, {columns}) "
                    f"SELECT :college, {columns} FROM xapi_documents WHERE college_id = :first"
                ),
                {"college": college, "first": colleges[0]},
            )
        logger.warning(
            "%d xAPI documents stored before colleges were separated were copied to each of %d colleges",
            documents,
            len(colleges),
        )
    op.create_index("ix_ledger_entries_leaf_hash", "ledger_entries", ["leaf_hash"])


def downgrade() -> None:
    raise NotImplementedError("0004_tenancy cannot be undone: colleges' statement ids may now collide")
