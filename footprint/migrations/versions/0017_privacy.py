"""Personal-data requests: a hold on a session's data (an appeal), when a person's data was erased, and each
college's retention periods.

Revision ID: 0017_privacy
Revises: 0016_lti
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_privacy"
down_revision: str | Sequence[str] | None = "0016_lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("held_at", WHEN, nullable=True))
        batch.add_column(sa.Column("hold_reason", sa.String(500), nullable=True))
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("erased_at", WHEN, nullable=True))
    op.create_table(
        "retention_policies",
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("recordings_days", sa.Integer(), nullable=True),
        sa.Column("evidence_days", sa.Integer(), nullable=True),
        sa.Column("faces_days", sa.Integer(), nullable=True),
        sa.Column("reference_photos_days", sa.Integer(), nullable=True),
        sa.Column("page_events_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["college_id"], ["colleges.id"], name=op.f("fk_retention_policies_college_id_colleges")
        ),
        sa.PrimaryKeyConstraint("college_id", name=op.f("pk_retention_policies")),
    )


def downgrade() -> None:
    op.drop_table("retention_policies")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("hold_reason")
        batch.drop_column("held_at")
