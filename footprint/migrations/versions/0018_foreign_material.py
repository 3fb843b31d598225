"""Foreign material in written answers: the college's texts (answers and reference sources) with their MinHash
signatures, and the examiner's decisions on findings.

Revision ID: 0018_foreign_material
Revises: 0017_privacy
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_foreign_material"
down_revision: str | Sequence[str] | None = "0017_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "material_texts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("exam_id", sa.String(36), nullable=True),
        sa.Column("learner_id", sa.String(128), nullable=True),
        sa.Column("learner_name", sa.String(300), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("statement_id", sa.String(36), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("language", sa.String(4), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["college_id"], ["colleges.id"], name=op.f("fk_material_texts_college_id_colleges")),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_material_texts_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_texts")),
        sa.UniqueConstraint("college_id", "statement_id", name=op.f("uq_material_texts_college_id_statement_id")),
    )
    op.create_index(op.f("ix_material_texts_college_id"), "material_texts", ["college_id"])
    op.create_index(op.f("ix_material_texts_exam_id"), "material_texts", ["exam_id"])
    op.create_table(
        "material_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("text_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("examiner", sa.String(300), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("statement_id", sa.String(36), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["college_id"], ["colleges.id"], name=op.f("fk_material_decisions_college_id_colleges")
        ),
        sa.ForeignKeyConstraint(
            ["text_id"], ["material_texts.id"], name=op.f("fk_material_decisions_text_id_material_texts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_decisions")),
    )
    op.create_index(op.f("ix_material_decisions_college_id"), "material_decisions", ["college_id"])
    op.create_index(op.f("ix_material_decisions_text_id"), "material_decisions", ["text_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_material_decisions_text_id"), table_name="material_decisions")
    op.drop_index(op.f("ix_material_decisions_college_id"), table_name="material_decisions")
    op.drop_table("material_decisions")
    op.drop_index(op.f("ix_material_texts_exam_id"), table_name="material_texts")
    op.drop_index(op.f("ix_material_texts_college_id"), table_name="material_texts")
    op.drop_table("material_texts")
