"""ID card at the door: each check's outcome, the card picture's key and sha256, the card face's embedding.

Revision ID: 0019_id_document
Revises: 0018_foreign_material
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_id_document"
down_revision: str | Sequence[str] | None = "0018_foreign_material"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "id_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("picture_key", sa.String(300), nullable=True),
        sa.Column("picture_sha256", sa.String(64), nullable=False),
        sa.Column("picture_purged_at", WHEN, nullable=True),
        sa.Column("card_embedding", sa.LargeBinary(), nullable=True),
        sa.Column("reference_confirmed_by", sa.String(36), nullable=True),
        sa.Column("reference_confirmed_at", WHEN, nullable=True),
        sa.Column("ledger_index", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_id_documents_session_id_exam_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["reference_confirmed_by"], ["users.id"], name=op.f("fk_id_documents_reference_confirmed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_id_documents")),
        sa.UniqueConstraint("session_id", "attempt", name=op.f("uq_id_documents_session_id_attempt")),
    )
    op.create_index(op.f("ix_id_documents_session_id"), "id_documents", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_id_documents_session_id"), table_name="id_documents")
    op.drop_table("id_documents")
