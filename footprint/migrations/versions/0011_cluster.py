"""Analysis jobs shared by several platform nodes: which node holds a running job, under which claim, until
when its lease runs, and where (which worker process) it runs.

Revision ID: 0011_cluster
Revises: 0010_footprint
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_cluster"
down_revision: str | Sequence[str] | None = "0010_footprint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("job_node", sa.String(128), nullable=True))
        batch.add_column(sa.Column("job_claim", sa.String(36), nullable=True))
        batch.add_column(sa.Column("job_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job_worker", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        for column in ("job_worker", "job_lease_until", "job_claim", "job_node"):
            batch.drop_column(column)
