"""Recording uploads (a retried upload is recognised), chunk rotation, analysis progress.

Revision ID: 0005_uploads
Revises: 0004_tenancy
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_uploads"
down_revision: str | Sequence[str] | None = "0004_tenancy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_uploads",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_recording_uploads_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_uploads")),
        sa.UniqueConstraint("session_id", "sha256", name=op.f("uq_recording_uploads_session_id_sha256")),
        sa.UniqueConstraint(
            "session_id", "idempotency_key", name=op.f("uq_recording_uploads_session_id_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_recording_uploads_session_id"), "recording_uploads", ["session_id"])
    with op.batch_alter_table("recording_chunks") as batch:
        batch.add_column(sa.Column("rotation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("job_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job_progress", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("job_progress")
        batch.drop_column("job_started_at")
    with op.batch_alter_table("recording_chunks") as batch:
        batch.drop_column("rotation")
    op.drop_index(op.f("ix_recording_uploads_session_id"), "recording_uploads")
    op.drop_table("recording_uploads")
