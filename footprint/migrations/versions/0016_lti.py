"""LTI 1.3: the tool's signing keys, the platforms a college registered, launches in flight (state and nonce,
single use), resource links bound to exams, people who come through a platform, the grade writes owed to a
platform; candidates without a reference photo yet (they come through the LMS) and marked when the roster drops
them; an exam's quiz password, encrypted.

Revision ID: 0016_lti
Revises: 0015_sealed_recording
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_lti"
down_revision: str | Sequence[str] | None = "0015_sealed_recording"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lti_tool_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("retired_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_lti_tool_keys")),
    )
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("college_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("deployment_ids", sa.JSON(), nullable=False),
        sa.Column("jwks_url", sa.String(2000), nullable=False),
        sa.Column("auth_url", sa.String(2000), nullable=False),
        sa.Column("token_url", sa.String(2000), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["college_id"], ["colleges.id"], name=op.f("fk_lti_platforms_college_id_colleges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platforms")),
        sa.UniqueConstraint("issuer", "client_id", name=op.f("uq_lti_platforms_issuer_client_id")),
    )
    op.create_index(op.f("ix_lti_platforms_college_id"), "lti_platforms", ["college_id"])
    op.create_table(
        "lti_states",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name=op.f("fk_lti_states_platform_id_lti_platforms")
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_lti_states")),
        sa.UniqueConstraint("nonce", name=op.f("uq_lti_states_nonce")),
    )
    op.create_table(
        "lti_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("resource_link_id", sa.String(255), nullable=False),
        sa.Column("exam_id", sa.String(36), nullable=False),
        sa.Column("context_id", sa.String(255), nullable=True),
        sa.Column("memberships_url", sa.String(2000), nullable=True),
        sa.Column("lineitems_url", sa.String(2000), nullable=True),
        sa.Column("lineitem_url", sa.String(2000), nullable=True),
        sa.Column("roster_synced_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name=op.f("fk_lti_links_platform_id_lti_platforms")
        ),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_lti_links_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_links")),
        sa.UniqueConstraint("platform_id", "resource_link_id", name=op.f("uq_lti_links_platform_id_resource_link_id")),
    )
    op.create_index(op.f("ix_lti_links_exam_id"), "lti_links", ["exam_id"])
    op.create_table(
        "lti_accounts",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name=op.f("fk_lti_accounts_platform_id_lti_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_lti_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("platform_id", "sub", name=op.f("pk_lti_accounts")),
    )
    op.create_table(
        "lti_grade_writes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("user_sub", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", WHEN, nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("superseded", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("ledger_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_lti_grade_writes_session_id_exam_sessions")
        ),
        sa.ForeignKeyConstraint(["link_id"], ["lti_links.id"], name=op.f("fk_lti_grade_writes_link_id_lti_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_grade_writes")),
    )
    op.create_index(op.f("ix_lti_grade_writes_session_id"), "lti_grade_writes", ["session_id"])
    op.create_index("ix_lti_grade_writes_due", "lti_grade_writes", ["done_at", "next_at"])
    with op.batch_alter_table("candidates") as batch:
        batch.alter_column("photo_key", existing_type=sa.String(300), nullable=True)
        batch.alter_column("embedding", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("lti_platform_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("lti_sub", sa.String(255), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", WHEN, nullable=True))
        batch.create_index("ix_candidates_lti", ["exam_id", "lti_platform_id", "lti_sub"])
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("lti_link_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("exams") as batch:
        batch.add_column(sa.Column("gate_secret", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exams") as batch:
        batch.drop_column("gate_secret")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("lti_link_id")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_lti")
        for column in ("withdrawn_at", "lti_sub", "lti_platform_id", "email"):
            batch.drop_column(column)
        batch.alter_column("embedding", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("photo_key", existing_type=sa.String(300), nullable=False)
    op.drop_index("ix_lti_grade_writes_due", table_name="lti_grade_writes")
    op.drop_index(op.f("ix_lti_grade_writes_session_id"), table_name="lti_grade_writes")
    op.drop_table("lti_grade_writes")
    op.drop_table("lti_accounts")
    op.drop_index(op.f("ix_lti_links_exam_id"), table_name="lti_links")
    op.drop_table("lti_links")
    op.drop_table("lti_states")
    op.drop_index(op.f("ix_lti_platforms_college_id"), table_name="lti_platforms")
    op.drop_table("lti_platforms")
    op.drop_table("lti_tool_keys")
