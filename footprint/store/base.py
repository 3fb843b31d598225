"""The single declarative base (and so the single MetaData) of the platform database.

A naming convention gives every constraint a stable name, which Alembic needs to alter or drop
constraints later, and which SQLite batch migrations need to rebuild tables.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table of the platform; other packages add their models to it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
