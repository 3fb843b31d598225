"""Proctoring results count only under the platform's own proctoring authority: facts of results that a
college's key sent (an LMS can send anything) are re-judged and kept as untrusted, never counted.

Revision ID: 0012_proctoring_authority
Revises: 0011_cluster
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from footprint.facts.backfill import reclassify_proctoring

revision: str = "0012_proctoring_authority"
down_revision: str | Sequence[str] | None = "0011_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reclassify_proctoring(op.get_bind())


def downgrade() -> None:
    """Nothing to undo in the schema; the facts keep their stricter classification."""
