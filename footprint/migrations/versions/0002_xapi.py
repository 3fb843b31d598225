"""xAPI store and accounts: colleges, credentials, statements with their filter keys, documents.

Revision ID: 0002_xapi
Revises: 0001_ledger
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_xapi"
down_revision: str | Sequence[str] | None = "0001_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "colleges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_colleges"),
        sa.UniqueConstraint("name", name="uq_colleges_name"),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.ForeignKeyConstraint(["college_id"], ["colleges.id"], name="fk_credentials_college_id_colleges"),
        sa.UniqueConstraint("key_hash", name="uq_credentials_key_hash"),
    )
    op.create_table(
        "xapi_statements",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("statement_id", sa.String(36), nullable=False),
        sa.Column("stored", sa.String(32), nullable=False),
        sa.Column("voids", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_xapi_statements"),
        sa.UniqueConstraint("statement_id", name="uq_xapi_statements_statement_id"),
    )
    op.create_index("ix_xapi_statements_stored", "xapi_statements", ["stored"])
    op.create_table(
        "xapi_statement_keys",
        sa.Column("key", sa.String(2100), nullable=False),
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("relation", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "seq", name="pk_xapi_statement_keys"),
        sa.ForeignKeyConstraint(["seq"], ["xapi_statements.seq"], name="fk_xapi_statement_keys_seq_xapi_statements"),
    )
    op.create_table(
        "xapi_voids",
        sa.Column("voided_id", sa.String(36), nullable=False),
        sa.Column("voiding_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("voided_id", name="pk_xapi_voids"),
    )
    op.create_table(
        "xapi_activities",
        sa.Column("activity_id", sa.String(2048), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name="pk_xapi_activities"),
    )
    op.create_table(
        "xapi_attachments",
        sa.Column("sha2", sa.String(128), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha2", name="pk_xapi_attachments"),
    )
    op.create_table(
        "xapi_documents",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activity_id", sa.String(2048), nullable=False),
        sa.Column("agent_key", sa.String(512), nullable=False),
        sa.Column("registration", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(2048), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "activity_id", "agent_key", "registration", "document_id", name="pk_xapi_documents"
        ),
    )


def downgrade() -> None:
    for name in (
        "xapi_documents",
        "xapi_attachments",
        "xapi_activities",
        "xapi_voids",
        "xapi_statement_keys",
        "xapi_statements",
        "credentials",
        "colleges",
    ):
        op.drop_table(name)
