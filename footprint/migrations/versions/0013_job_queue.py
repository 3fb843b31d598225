"""The analysis queue judged by the database's clock, in the order jobs were queued: when a job was queued,
when a job given back may run again, until when one start may run; a session whose media retention has
purged for good; and which node signed each checkpoint.

Revision ID: 0013_job_queue
Revises: 0012_proctoring_authority
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_job_queue"
down_revision: str | Sequence[str] | None = "0012_proctoring_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("job_queued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job_retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job_deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("media_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_exam_sessions_job_queue", ["job_state", "job_queued_at"], unique=False)
    with op.batch_alter_table("ledger_checkpoints") as batch:
        batch.add_column(sa.Column("signed_by", sa.String(128), nullable=True))
    # jobs queued before this revision keep their place: by their session's creation, as they were claimed
    sessions = sa.table(
        "exam_sessions",
        sa.column("job_state", sa.String),
        sa.column("job_queued_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.execute(sessions.update().where(sessions.c.job_state == "queued").values(job_queued_at=sessions.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table("ledger_checkpoints") as batch:
        batch.drop_column("signed_by")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_index("ix_exam_sessions_job_queue")
        for column in ("media_purged_at", "job_deadline_at", "job_retry_at", "job_queued_at"):
            batch.drop_column(column)
