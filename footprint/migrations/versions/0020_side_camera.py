"""Second camera by QR: the side camera's token (its hash) and what its analysis saw in each kept part.

Revision ID: 0020_side_camera
Revises: 0019_id_document
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_side_camera"
down_revision: str | Sequence[str] | None = "0019_id_document"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("exam_sessions", sa.Column("side_token_hash", sa.String(64), nullable=True))
    op.create_index(op.f("ix_exam_sessions_side_token_hash"), "exam_sessions", ["side_token_hash"], unique=True)
    op.add_column("recording_chunks", sa.Column("views", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recording_chunks", schema=None) as batch_op:
        batch_op.drop_column("views")
    op.drop_index(op.f("ix_exam_sessions_side_token_hash"), table_name="exam_sessions")
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.drop_column("side_token_hash")
