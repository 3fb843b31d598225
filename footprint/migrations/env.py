"""Alembic environment: runs on the connection handed over by `footprint.store.migrate`, or on a URL.

Autogenerate compares against `footprint.store.Base.metadata`; import the module that declares your
tables below when you add some, so that `alembic revision --autogenerate` sees them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import footprint.catalogue.store  # noqa: F401  (registers the catalogue versions)
import footprint.facts.tables  # noqa: F401  (registers the statement projection: facts and terms)
import footprint.ledger.tables  # noqa: F401  (registers the ledger tables on Base.metadata)
import footprint.people  # noqa: F401  (registers the users table)
import footprint.signins  # noqa: F401  (registers sign-in sessions and login attempts)
from footprint.store.base import Base
from footprint.store.engine import make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()
