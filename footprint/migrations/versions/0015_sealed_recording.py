"""The kept recording sealed and checked: until when a finished live session takes parts, when it was sealed and
what the check found; each run's stream state (parts kept, where its stream was left, its place on the
timeline); each live part's keyframe signatures; the signatures of the frames the live analysis received.

Live sessions finished before this revision have no `recording_until`: they take no more parts.

Revision ID: 0015_sealed_recording
Revises: 0014_least_privilege
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_sealed_recording"
down_revision: str | Sequence[str] | None = "0014_least_privilege"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("recording_until", WHEN, nullable=True))
        batch.add_column(sa.Column("recording_sealed_at", WHEN, nullable=True))
        batch.add_column(sa.Column("recording_check", sa.String(16), nullable=True))
    with op.batch_alter_table("recording_runs") as batch:
        batch.add_column(sa.Column("parts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("stream", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("origin_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("end_s", sa.Float(), nullable=True))
    # runs kept before this revision: their parts counted, their stream unknown (they take no more parts)
    op.execute(
        sa.text(
            "UPDATE recording_runs SET parts = (SELECT count(*) FROM recording_chunks "
            "WHERE recording_chunks.run_id = recording_runs.id)"
        )
    )
    with op.batch_alter_table("recording_chunks") as batch:
        batch.add_column(sa.Column("samples", sa.LargeBinary(), nullable=True))
    op.create_table(
        "frame_signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("first_s", sa.Float(), nullable=False),
        sa.Column("signatures", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_frame_signatures_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frame_signatures")),
    )
    op.create_index(op.f("ix_frame_signatures_session_id"), "frame_signatures", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_frame_signatures_session_id"), table_name="frame_signatures")
    op.drop_table("frame_signatures")
    with op.batch_alter_table("recording_chunks") as batch:
        batch.drop_column("samples")
    with op.batch_alter_table("recording_runs") as batch:
        for column in ("end_s", "origin_s", "stream", "parts"):
            batch.drop_column(column)
    with op.batch_alter_table("exam_sessions") as batch:
        for column in ("recording_check", "recording_sealed_at", "recording_until"):
            batch.drop_column(column)
