"""Run the platform's Alembic migrations from code: no alembic.ini, the environment ships in the package."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from footprint.store.engine import StoreError, make_engine

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config pointing at `footprint/migrations` (for `command.revision`, `downgrade`, …)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest) inside one transaction where the database allows."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        config = alembic_config()
        with engine.connect() as connection:
            try:
                if sqlite:
                    # Batch migrations rebuild SQLite tables (copy, drop, rename); with foreign keys enforced
                    # the drop of a referenced table fails. Checked below before anything is committed.
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"migration left rows without their parent: {broken[:5]}")
                connection.commit()
            finally:
                connection.rollback()  # nothing is left open when the upgrade failed
                if sqlite:  # outside any transaction, so the pragma takes effect before the connection is reused
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
        logger.info("database migrated to %s", revision)
    finally:
        if engine is not engine_or_url:
            engine.dispose()
