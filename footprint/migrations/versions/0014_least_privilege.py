"""Least privilege: API keys with scopes, a prefix to tell them apart, last use, revocation and expiry, and the
bootstrap (demo) key marked; people who can be disabled, the demo admin marked, and an e-mail address unique per
college (not per platform); the login throttle's buckets in place of the login attempts.

Keys issued before this revision keep every scope (they could do everything); their prefix is unknown (only the
key's hash was kept) and shown as `?` and the first characters of their id.

Revision ID: 0014_least_privilege
Revises: 0013_job_queue
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_least_privilege"
down_revision: str | Sequence[str] | None = "0013_job_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
ALL_SCOPES = "xapi,sessions,people,footprint,admin"
DEMO_ADMIN = "admin@demo.kz"


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("scopes", sa.String(200), nullable=False, server_default=ALL_SCOPES))
        batch.add_column(sa.Column("prefix", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_used_at", WHEN, nullable=True))
        batch.add_column(sa.Column("revoked_at", WHEN, nullable=True))
        batch.add_column(sa.Column("expires_at", WHEN, nullable=True))
        batch.add_column(sa.Column("bootstrap", sa.Boolean(), nullable=False, server_default=sa.false()))
    credentials = sa.table(
        "credentials", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("prefix", sa.String)
    )
    op.execute(credentials.update().values(prefix=sa.literal("?") + sa.func.substr(credentials.c.id, 1, 7)))
    op.execute(sa.text("UPDATE credentials SET bootstrap = :yes WHERE name = 'bootstrap'").bindparams(yes=True))
    with op.batch_alter_table("credentials") as batch:  # the defaults were for the rows already there
        batch.alter_column("scopes", server_default=None)
        batch.alter_column("prefix", server_default=None)
        batch.alter_column("bootstrap", server_default=None)

    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_email"), type_="unique")
        batch.create_unique_constraint(op.f("uq_users_college_id_email"), ["college_id", "email"])
        batch.create_index(op.f("ix_users_email"), ["email"], unique=False)
        batch.add_column(sa.Column("disabled_at", WHEN, nullable=True))
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE users SET demo = :yes WHERE email = :demo").bindparams(yes=True, demo=DEMO_ADMIN))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("demo", server_default=None)

    for column in ("email", "client", "at"):
        op.drop_index(op.f(f"ix_login_attempts_{column}"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", WHEN, nullable=True),
        sa.Column("wait_until", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    for column in ("email", "client", "at"):
        op.create_index(op.f(f"ix_login_attempts_{column}"), "login_attempts", [column])
    with op.batch_alter_table("users") as batch:
        batch.drop_column("demo")
        batch.drop_column("disabled_at")
        batch.drop_index(op.f("ix_users_email"))
        batch.drop_constraint(op.f("uq_users_college_id_email"), type_="unique")
        batch.create_unique_constraint(op.f("uq_users_email"), ["email"])
    with op.batch_alter_table("credentials") as batch:
        for column in ("bootstrap", "expires_at", "revoked_at", "last_used_at", "prefix", "scopes"):
            batch.drop_column(column)
