"""Live sessions: timeline origin, identity outcome, transitions, recording runs and parts, open events,
and an exam's planned length and content link.

Revision ID: 0006_live
Revises: 0005_uploads
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_live"
down_revision: str | Sequence[str] | None = "0005_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exams") as batch:
        batch.add_column(sa.Column("duration_min", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("content_url", sa.String(2000), nullable=True))
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("live_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("live_last_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("identity", sa.String(16), nullable=True))
    op.create_table(
        "session_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(24), nullable=False),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_s", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ledger_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_session_transitions_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_transitions")),
    )
    op.create_index(op.f("ix_session_transitions_session_id"), "session_transitions", ["session_id"])
    op.create_table(
        "recording_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("run", sa.String(64), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_recording_runs_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_runs")),
        sa.UniqueConstraint("session_id", "run", name=op.f("uq_recording_runs_session_id_run")),
    )
    op.create_index(op.f("ix_recording_runs_session_id"), "recording_runs", ["session_id"])
    with op.batch_alter_table("recording_chunks") as batch:
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("part", sa.Integer(), nullable=True))
        batch.create_unique_constraint(op.f("uq_recording_chunks_run_id_part"), ["run_id", "part"])
        batch.create_foreign_key(
            op.f("fk_recording_chunks_run_id_recording_runs"), "recording_runs", ["run_id"], ["id"]
        )
        batch.create_index(op.f("ix_recording_chunks_run_id"), ["run_id"])
    with op.batch_alter_table("session_events") as batch:
        batch.add_column(sa.Column("state", sa.String(8), nullable=False, server_default="closed"))
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("detected_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.drop_column("detected_s")
        batch.drop_column("opened_at")
        batch.drop_column("state")
    with op.batch_alter_table("recording_chunks") as batch:
        batch.drop_index(op.f("ix_recording_chunks_run_id"))
        batch.drop_constraint(op.f("uq_recording_chunks_run_id_part"), type_="unique")
        batch.drop_column("part")
        batch.drop_constraint(op.f("fk_recording_chunks_run_id_recording_runs"), type_="foreignkey")
        batch.drop_column("run_id")
    op.drop_table("recording_runs")
    op.drop_table("session_transitions")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("identity")
        batch.drop_column("live_last_s")
        batch.drop_column("live_started_at")
    with op.batch_alter_table("exams") as batch:
        batch.drop_column("content_url")
        batch.drop_column("duration_min")
