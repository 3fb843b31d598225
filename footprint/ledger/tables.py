"""The ledger's tables on the platform `Base` (created by migration 0001_ledger).

`ledger_entries` holds each canonical record and its leaf hash; `ledger_nodes` holds every complete
subtree hash (leaves included) keyed by (level, position), so any proof is one indexed lookup of at
most 2·⌈log₂ n⌉ keys; `ledger_head` is the one row appends lock and update; `ledger_checkpoints` keeps
every signed note the ledger has issued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from footprint.store.base import Base

INDEX = BigInteger().with_variant(Integer(), "sqlite")


class EntryRow(Base):
    """One appended record: its position, what it is, and the exact canonical bytes that were hashed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("kind", "record_id"), Index("ix_ledger_entries_leaf_hash", "leaf_hash"))

    index: Mapped[int] = mapped_column("index", INDEX, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[bytes] = mapped_column(LargeBinary())
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    appended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NodeRow(Base):
    """The hash of the complete subtree covering leaves [position·2^level, (position+1)·2^level)."""

    __tablename__ = "ledger_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class HeadRow(Base):
    """The single row every append locks: the tree size and its frontier (one hash per set bit of size)."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary())


class CheckpointRow(Base):
    """A signed note over the tree of `tree_size` leaves, kept so later audits can check history."""

    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(String(128))
    """The platform node whose checkpoint job signed it (None when signed on a request)."""
