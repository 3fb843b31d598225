"""The examiner desk: sign-in sessions and login attempts, event reviews, faces seen in sessions, exam
re-weightings, and the signed-in examiner of a verdict.

Revision ID: 0009_desk
Revises: 0008_people
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_desk"
down_revision: str | Sequence[str] | None = "0008_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_desk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sessions")),
    )
    op.create_index(op.f("ix_desk_sessions_user_id"), "desk_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    for column in ("email", "client", "at"):
        op.create_index(op.f(f"ix_login_attempts_{column}"), "login_attempts", [column])
    op.create_table(
        "event_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("analysis_run", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("examiner", sa.String(300), nullable=False),
        sa.Column("ledger_index", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_event_reviews_session_id_exam_sessions")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_event_reviews_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_reviews")),
    )
    op.create_index(op.f("ix_event_reviews_session_id"), "event_reviews", ["session_id"])
    op.create_index(op.f("ix_event_reviews_user_id"), "event_reviews", ["user_id"])
    op.create_table(
        "session_faces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("analysis_run", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("first_s", sa.Float(), nullable=False),
        sa.Column("last_s", sa.Float(), nullable=False),
        sa.Column("reference_distance", sa.Float(), nullable=True),
        sa.Column("photo_key", sa.String(300), nullable=True),
        sa.Column("photo_purged_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_session_faces_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_faces")),
        sa.UniqueConstraint(
            "session_id", "analysis_run", "number", name=op.f("uq_session_faces_session_id_analysis_run_number")
        ),
    )
    op.create_index(op.f("ix_session_faces_session_id"), "session_faces", ["session_id"])
    op.create_table(
        "exam_weightings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exam_id", sa.String(36), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("ledger_index", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_exam_weightings_exam_id_exams")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exam_weightings_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_weightings")),
    )
    op.create_index(op.f("ix_exam_weightings_exam_id"), "exam_weightings", ["exam_id"])
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("user_id", sa.String(36), nullable=True))
        batch.create_foreign_key(op.f("fk_decisions_user_id_users"), "users", ["user_id"], ["id"])
        batch.create_index(op.f("ix_decisions_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_index(op.f("ix_decisions_user_id"))
        batch.drop_constraint(op.f("fk_decisions_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
    for table in ("exam_weightings", "session_faces", "event_reviews", "login_attempts", "desk_sessions"):
        op.drop_table(table)
