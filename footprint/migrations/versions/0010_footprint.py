"""Digital footprint indicators: the facts projection of statements, its terms, and catalogue versions.

Every statement stored before this revision gets its fact here (the same projection new statements get
when they are stored), so the indicators count them.

Revision ID: 0010_footprint
Revises: 0009_desk
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from footprint.facts.backfill import backfill_facts

revision: str = "0010_footprint"
down_revision: str | Sequence[str] | None = "0009_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TERMS = ("actor", "alias", "verb", "object", "course", "instructor", "registration")
NUMBERS = ("raw", "low", "high", "duration_s")
FLAGS = ("success", "completion", "late", "feedback", "verdict")


def upgrade() -> None:
    op.create_table(
        "footprint_terms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["college_id"], ["colleges.id"], name=op.f("fk_footprint_terms_college_id_colleges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_terms")),
        sa.UniqueConstraint("college_id", "digest", name=op.f("uq_footprint_terms_college_id_digest")),
    )
    op.create_table(
        "footprint_facts",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in TERMS),
        *(sa.Column(name, sa.Float(), nullable=True) for name in NUMBERS),
        *(sa.Column(name, sa.SmallInteger(), nullable=True) for name in FLAGS),
        sa.ForeignKeyConstraint(["seq"], ["xapi_statements.seq"], name=op.f("fk_footprint_facts_seq_xapi_statements")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_footprint_facts")),
    )
    op.create_index("ix_footprint_facts_college_ledger", "footprint_facts", ["college_id", "ledger_index"])
    op.create_index("ix_footprint_facts_college_actor", "footprint_facts", ["college_id", "actor"])
    op.create_index("ix_footprint_facts_college_alias", "footprint_facts", ["college_id", "alias"])
    op.create_table(
        "footprint_catalogues",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["college_id"], ["colleges.id"], name=op.f("fk_footprint_catalogues_college_id_colleges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_catalogues")),
        sa.UniqueConstraint("college_id", "version", name=op.f("uq_footprint_catalogues_college_id_version")),
    )
    backfill_facts(op.get_bind())


def downgrade() -> None:
    for table in ("footprint_catalogues", "footprint_facts", "footprint_terms"):
        op.drop_table(table)
