"""The platform database: one declarative `Base`, engines for SQLite and PostgreSQL, sessions, migrations.

Every package that owns tables declares them on `footprint.store.Base` and adds a numbered Alembic
revision under `footprint/migrations/versions/`; `migrate()` brings any database to the head revision.
"""

from footprint.store.base import Base
from footprint.store.engine import make_engine, make_session_factory
from footprint.store.migrate import alembic_config, migrate

__all__ = ["Base", "alembic_config", "make_engine", "make_session_factory", "migrate"]
