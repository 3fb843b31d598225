"""Catalogue versions: every import is a new, numbered, immutable version, proven in the ledger.

A version is the catalogue's RFC 8785 JSON and its SHA-256; the ledger gets the record
`{college, version, sha256}` in the same transaction, so the version in force at a checkpoint is the
newest one whose leaf the checkpoint's tree holds, and a report's catalogue can be checked offline.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.catalogue.checks import check_catalogue
from footprint.catalogue.model import TABLES, Catalogue
from footprint.facts.tables import ID
from footprint.ledger import Ledger, canonical
from footprint.store import Base
from footprint.store.times import as_utc

LEDGER_KIND = "footprint.catalogue"


class CatalogueRow(Base):
    """One version of a college's catalogue."""

    __tablename__ = "footprint_catalogues"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(String(36), ForeignKey("colleges.id"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("college_id", "version"),)


@dataclass(frozen=True)
class CatalogueVersion:
    """A stored catalogue version and where the ledger proves it."""

    college_id: str
    version: int
    digest: str
    source: str
    ledger_index: int
    created_at: datetime
    catalogue: Catalogue

    def record(self) -> dict[str, Any]:
        """The ledger record of this version (what its leaf hashes)."""
        return ledger_record(self.college_id, self.version, self.digest)

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.digest,
            "source": self.source,
            "ledgerIndex": self.ledger_index,
            "createdAt": self.created_at.astimezone(UTC).isoformat(),
            "counts": {table: len(getattr(self.catalogue, table)) for table in TABLES},
        }


def ledger_record(college_id: str, version: int, digest: str) -> dict[str, Any]:
    return {"college": college_id, "catalogueVersion": version, "sha256": digest}


def document_of(catalogue: Catalogue) -> bytes:
    """The canonical bytes of a catalogue (RFC 8785 of its JSON form): what its digest is taken of. A catalogue
    without terms leaves the key out, so the versions imported before terms existed keep their digests."""
    document = catalogue.model_dump(mode="json")
    if not document.get("terms"):
        document.pop("terms", None)
    return canonical(document)


def digest_of(catalogue: Catalogue) -> str:
    return hashlib.sha256(document_of(catalogue)).hexdigest()


PARSED_CACHE = 8
_parsed: OrderedDict[str, Catalogue] = OrderedDict()
_parsed_lock = threading.Lock()


def _catalogue(db: Session, row_id: int, digest: str) -> Catalogue:
    """A stored version's catalogue, parsed once per process (versions never change: the digest names one)."""
    with _parsed_lock:
        found = _parsed.get(digest)
        if found is not None:
            _parsed.move_to_end(digest)
            return found
    document = db.scalar(select(CatalogueRow.document).where(CatalogueRow.id == row_id))
    parsed = Catalogue.model_validate_json(document or "{}")
    with _parsed_lock:
        _parsed[digest] = parsed
        while len(_parsed) > PARSED_CACHE:
            _parsed.popitem(last=False)
    return parsed


HEAD = (
    CatalogueRow.id,
    CatalogueRow.college_id,
    CatalogueRow.version,
    CatalogueRow.digest,
    CatalogueRow.source,
    CatalogueRow.ledger_index,
    CatalogueRow.created_at,
)


def _version(db: Session, row: Any) -> CatalogueVersion:
    created = as_utc(row.created_at)
    catalogue = _catalogue(db, row.id, row.digest)
    return CatalogueVersion(row.college_id, row.version, row.digest, row.source, row.ledger_index, created, catalogue)


def save_catalogue(
    db: Session, ledger: Ledger, college_id: str, catalogue: Catalogue, source: str
) -> tuple[CatalogueVersion, bool]:
    """Store a checked catalogue as the college's next version (in the caller's transaction) and append its
    ledger record; an import identical to the current version stores nothing. Returns (version, created)."""
    check_catalogue(catalogue)
    document = document_of(catalogue)
    digest = hashlib.sha256(document).hexdigest()
    current = latest_catalogue(db, college_id)
    if current is not None and current.digest == digest:
        return current, False
    version = (current.version if current else 0) + 1
    entry = ledger.append(
        db, LEDGER_KIND, f"{college_id}/catalogue/{version}", ledger_record(college_id, version, digest)
    )
    row = CatalogueRow(
        college_id=college_id,
        version=version,
        digest=digest,
        source=source,
        document=document.decode(),
        ledger_index=entry.index,
        created_at=datetime.now(UTC),
    )
    db.add(row)
    db.flush()
    stored = CatalogueVersion(college_id, version, digest, source, entry.index, row.created_at, catalogue)
    return stored, True


def latest_catalogue(db: Session, college_id: str, tree_size: int | None = None) -> CatalogueVersion | None:
    """The college's newest catalogue version, or the newest one a tree of `tree_size` leaves holds."""
    query = select(*HEAD).where(CatalogueRow.college_id == college_id)
    if tree_size is not None:
        query = query.where(CatalogueRow.ledger_index < tree_size)
    row = db.execute(query.order_by(CatalogueRow.version.desc()).limit(1)).first()
    return None if row is None else _version(db, row)


def catalogue_version(db: Session, college_id: str, version: int) -> CatalogueVersion | None:
    row = db.execute(
        select(*HEAD).where(CatalogueRow.college_id == college_id, CatalogueRow.version == version)
    ).first()
    return None if row is None else _version(db, row)


def catalogue_versions(db: Session, college_id: str) -> list[dict[str, Any]]:
    """Every version of the college's catalogue, newest first (without the documents)."""
    rows = db.execute(
        select(
            CatalogueRow.version,
            CatalogueRow.digest,
            CatalogueRow.source,
            CatalogueRow.ledger_index,
            CatalogueRow.created_at,
        )
        .where(CatalogueRow.college_id == college_id)
        .order_by(CatalogueRow.version.desc())
    )
    return [
        {
            "version": row.version,
            "sha256": row.digest,
            "source": row.source,
            "ledgerIndex": row.ledger_index,
            "createdAt": as_utc(row.created_at).isoformat(),
        }
        for row in rows
    ]
