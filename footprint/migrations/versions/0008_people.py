"""People who sign in (a college's admins and examiners), and which examiners an exam has.

Revision ID: 0008_people
Revises: 0007_student_page
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_people"
down_revision: str | Sequence[str] | None = "0007_student_page"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("full_name", sa.String(300), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["college_id"], ["colleges.id"], name=op.f("fk_users_college_id_colleges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_college_id"), "users", ["college_id"])
    op.create_table(
        "exam_examiners",
        sa.Column("exam_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_exam_examiners_exam_id_exams")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exam_examiners_user_id_users")),
        sa.PrimaryKeyConstraint("exam_id", "user_id", name=op.f("pk_exam_examiners")),
    )
    op.create_index(op.f("ix_exam_examiners_user_id"), "exam_examiners", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_exam_examiners_user_id"), table_name="exam_examiners")
    op.drop_table("exam_examiners")
    op.drop_index(op.f("ix_users_college_id"), table_name="users")
    op.drop_table("users")
