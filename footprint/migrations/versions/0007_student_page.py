"""The student page: the candidate's consent to a session, and the track a recording run holds (the camera,
or the shared screen).

Revision ID: 0007_student_page
Revises: 0006_live
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_student_page"
down_revision: str | Sequence[str] | None = "0006_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("consent", sa.String(16), nullable=True))
    with op.batch_alter_table("recording_runs") as batch:
        batch.add_column(sa.Column("track", sa.String(16), nullable=False, server_default="camera"))


def downgrade() -> None:
    with op.batch_alter_table("recording_runs") as batch:
        batch.drop_column("track")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("consent")
