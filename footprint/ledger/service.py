"""`Ledger`: the one interface every component uses to append records and to prove them.

Appends run inside the caller's transaction, so a record and its leaf commit or roll back together.
They are serialised by a write lock on the single `ledger_head` row (an `UPDATE … RETURNING` that on
SQLite also takes the database's single writer lock), which holds the size and the frontier: a batch
of k records costs five statements and O(k) hashing whatever the size of the tree. Proofs read the
stored complete-subtree hashes with one indexed query of at most 2·⌈log₂ n⌉ keys.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, TextClause, and_, func, insert, select, text, update
from sqlalchemy.orm import Session

from footprint.ledger.checkpoint import Checkpoint, SignedCheckpoint, cosign_note, read_note, sign
from footprint.ledger.entries import DuplicateRecordError, LedgerEntry, LedgerError, Record, canonical
from footprint.ledger.keys import Signer
from footprint.ledger.merkle import EMPTY_ROOT, ConsistencyProof, InclusionProof, leaf_hash
from footprint.ledger.tables import CheckpointRow, EntryRow, HeadRow, NodeRow
from footprint.ledger.tree import (
    Frontier,
    NodeRef,
    consistency_spans,
    fold,
    inclusion_spans,
    needed_nodes,
    resolve,
    root_span_nodes,
)

logger = logging.getLogger(__name__)

ENTRIES = cast(Table, EntryRow.__table__)
NODES = cast(Table, NodeRow.__table__)
HEAD = cast(Table, HeadRow.__table__)
CHECKPOINTS = cast(Table, CheckpointRow.__table__)
DUPLICATE_CHECK_CHUNK = 1000  # ids per query, well below SQLite's and PostgreSQL's bound-parameter limits


@functools.lru_cache(maxsize=256)
def _node_lookup(count: int) -> TextClause:
    """`SELECT … WHERE (level, position) = … OR …` for `count` keys, built once per count.

    An OR of primary-key equalities is answered by both SQLite and PostgreSQL with one index probe per key
    (SQLite scans the whole table for a row-value IN list); plain SQL text avoids rebuilding ~40 expression
    objects per proof, which costs more than the query itself.
    """
    match = " OR ".join(f'("level" = :l{i} AND "position" = :p{i})' for i in range(count))
    return text(f'SELECT "level", "position", "hash" FROM ledger_nodes WHERE {match}')


def _entry(row: Row[Any]) -> LedgerEntry:
    appended_at: datetime = row.appended_at
    if appended_at.tzinfo is None:  # SQLite stores timestamps without their zone; we always write UTC
        appended_at = appended_at.replace(tzinfo=UTC)
    return LedgerEntry(row._mapping["index"], row.kind, row.record_id, row.payload, row.leaf_hash, appended_at)


class Ledger:
    """The platform's append-only Merkle log; stateless apart from its origin and signing key."""

    def __init__(self, origin: str, signer: Signer | None = None) -> None:
        if not origin or "\n" in origin:
            raise LedgerError("the ledger origin is one non-empty line")
        self.origin = origin
        self.signer = signer

    # -- appending ---------------------------------------------------------------------------------

    def append(self, session: Session, kind: str, record_id: str, payload: Mapping[str, Any]) -> LedgerEntry:
        """Append one record in the caller's transaction; raises DuplicateRecordError if already present."""
        return self.append_many(session, [Record(kind, record_id, payload)])[0]

    def append_many(self, session: Session, records: Sequence[Record]) -> list[LedgerEntry]:
        """Append records in order, in the caller's transaction, under one lock of the head row."""
        if not records:
            return []
        prepared = [(record, canonical(record.payload)) for record in records]  # before taking the lock
        keys = {(record.kind, record.record_id) for record in records}
        if len(keys) != len(records):
            raise DuplicateRecordError("the batch holds the same (kind, record_id) twice")
        size, blob = self._lock_head(session)
        self._refuse_duplicates(session, keys)
        frontier = Frontier.from_bytes(size, blob)
        now = datetime.now(UTC)
        entries: list[LedgerEntry] = []
        nodes: list[dict[str, Any]] = []
        for record, data in prepared:
            entry = LedgerEntry(frontier.size, record.kind, record.record_id, data, leaf_hash(data), now)
            nodes.extend(
                {"level": n.ref.level, "position": n.ref.position, "hash": n.hash}
                for n in frontier.append(entry.leaf_hash)
            )
            entries.append(entry)
        session.execute(
            insert(ENTRIES),
            [
                {
                    "index": e.index,
                    "kind": e.kind,
                    "record_id": e.record_id,
                    "payload": e.payload,
                    "leaf_hash": e.leaf_hash,
                    "appended_at": now,
                }
                for e in entries
            ],
        )
        session.execute(insert(NODES), nodes)
        session.execute(update(HEAD).where(HEAD.c.id == 1).values(size=frontier.size, frontier=frontier.to_bytes()))
        logger.debug("appended %d records, ledger size %d", len(entries), frontier.size)
        return entries

    @staticmethod
    def _refuse_duplicates(session: Session, keys: set[tuple[str, str]]) -> None:
        """Raise DuplicateRecordError if any (kind, record_id) is already stored; a few indexed searches."""
        by_kind: dict[str, list[str]] = {}
        for kind, record_id in sorted(keys):
            by_kind.setdefault(kind, []).append(record_id)
        for kind, ids in by_kind.items():
            # kind = … AND record_id IN (…) searches the unique index; a row-value IN would scan on SQLite
            for start in range(0, len(ids), DUPLICATE_CHECK_CHUNK):
                chunk = ids[start : start + DUPLICATE_CHECK_CHUNK]
                match = and_(ENTRIES.c.kind == kind, ENTRIES.c.record_id.in_(chunk))
                clash = session.execute(select(ENTRIES.c.record_id).where(match).limit(1)).scalar()
                if clash is not None:
                    raise DuplicateRecordError(f"{kind} {clash} is already in the ledger")

    def _lock_head(self, session: Session) -> tuple[int, bytes]:
        """Take the append lock (row lock on PostgreSQL, the writer lock on SQLite); return size and frontier."""
        lock = update(HEAD).where(HEAD.c.id == 1).values(size=HEAD.c.size).returning(HEAD.c.size, HEAD.c.frontier)
        row = session.execute(lock).first()
        if row is None:  # a database built with create_all rather than migrations
            session.execute(insert(HEAD).values(id=1, size=0, frontier=b""))
            row = session.execute(lock).one()
        return int(row.size), bytes(row.frontier)

    # -- reading -----------------------------------------------------------------------------------

    def entry_for(self, session: Session, kind: str, record_id: str) -> LedgerEntry | None:
        """The entry of a record, or None if it was never appended."""
        row = session.execute(select(ENTRIES).where(ENTRIES.c.kind == kind, ENTRIES.c.record_id == record_id)).first()
        return None if row is None else _entry(row)

    def entry_at(self, session: Session, index: int) -> LedgerEntry | None:
        """The entry at leaf `index`, or None past the end."""
        row = session.execute(select(ENTRIES).where(ENTRIES.c.index == index)).first()
        return None if row is None else _entry(row)

    def index_of_leaf(self, session: Session, leaf: bytes) -> int | None:
        """The first leaf index whose hash is `leaf` (32 bytes), or None: a proof for whoever holds the record."""
        found = session.execute(
            select(ENTRIES.c.index).where(ENTRIES.c.leaf_hash == leaf).order_by(ENTRIES.c.index).limit(1)
        ).scalar()
        return None if found is None else int(found)

    def size(self, session: Session) -> int:
        """Number of leaves appended and visible to this transaction."""
        size = session.execute(select(HEAD.c.size).where(HEAD.c.id == 1)).scalar()
        return 0 if size is None else int(size)

    def root(self, session: Session, tree_size: int | None = None) -> bytes:
        """MTH of the first `tree_size` leaves (default: all of them)."""
        if tree_size is None:
            row = session.execute(select(HEAD.c.size, HEAD.c.frontier).where(HEAD.c.id == 1)).first()
            return EMPTY_ROOT if row is None else Frontier.from_bytes(int(row.size), bytes(row.frontier)).root()
        self._check_size(tree_size)
        if tree_size == 0:
            return EMPTY_ROOT
        refs = root_span_nodes(tree_size)
        hashes = self._nodes(session, refs)
        return fold([hashes[ref] for ref in refs])

    def inclusion_proof(self, session: Session, index: int, tree_size: int | None = None) -> InclusionProof:
        """Audit path of leaf `index` in the tree of `tree_size` leaves (default: the current size)."""
        size = self.size(session) if tree_size is None else tree_size
        self._check_size(size)
        spans = inclusion_spans(index, size)
        return InclusionProof(index, size, resolve(spans, self._nodes(session, needed_nodes(spans))))

    def consistency_proof(self, session: Session, first: int, second: int | None = None) -> ConsistencyProof:
        """Proof that the tree of `first` leaves is a prefix of the tree of `second` (default: current size)."""
        size = self.size(session) if second is None else second
        self._check_size(size)
        spans = consistency_spans(first, size)
        return ConsistencyProof(first, size, resolve(spans, self._nodes(session, needed_nodes(spans))))

    def _nodes(self, session: Session, refs: Iterable[NodeRef]) -> dict[NodeRef, bytes]:
        keys = sorted(set(refs))
        if not keys:
            return {}
        params = {f"l{i}": ref.level for i, ref in enumerate(keys)} | {
            f"p{i}": ref.position for i, ref in enumerate(keys)
        }
        rows = session.execute(_node_lookup(len(keys)), params)
        found = {NodeRef(row.level, row.position): bytes(row.hash) for row in rows}
        if len(found) != len(keys):
            raise LedgerError("the requested tree size is larger than the ledger")
        return found

    @staticmethod
    def _check_size(size: int) -> None:
        if size < 0:
            raise LedgerError(f"impossible tree size {size}")

    # -- checkpoints -------------------------------------------------------------------------------

    def checkpoint(self, session: Session, signed_by: str | None = None) -> SignedCheckpoint:
        """Sign and store a checkpoint of the current head; returns the stored one if the head has not moved.
        `signed_by` names the platform node that signs it (kept with the checkpoint)."""
        if self.signer is None:
            raise LedgerError("this ledger has no signing key")
        latest = self.latest_checkpoint(session)
        if latest is not None and latest.checkpoint.tree_size == self.size(session):
            return latest  # nothing appended since: two reads, no lock
        size, blob = self._lock_head(session)
        latest = self.latest_checkpoint(session)
        if latest is not None and latest.checkpoint.tree_size == size:
            return latest  # signed meanwhile by another process
        signed = sign(
            Checkpoint(self.origin, size, Frontier.from_bytes(size, blob).root()),
            self.signer.name,
            self.signer.private_key,
        )
        session.execute(
            insert(CHECKPOINTS).values(
                tree_size=size,
                root_hash=signed.checkpoint.root_hash,
                note=signed.note,
                signed_at=datetime.now(UTC),
                signed_by=signed_by,
            )
        )
        logger.info("signed checkpoint of %s at size %d", self.origin, size)
        return signed

    def cosign_head(self, session: Session, signer: Signer) -> SignedCheckpoint:
        """The handover of a key rotation: the checkpoint of the current head (signed by this ledger's key first if
        there is none yet) with `signer`'s signature added, in the caller's transaction, under the append lock."""
        size, _ = self._lock_head(session)
        latest = self.checkpoint(session)
        if latest.checkpoint.tree_size != size:
            raise LedgerError("the head moved under the append lock")
        note = cosign_note(latest.note, signer.name, signer.private_key)
        session.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == size).values(note=note))
        logger.info("checkpoint of %s at size %d cosigned by %s", self.origin, size, signer.verifier)
        return SignedCheckpoint(latest.checkpoint, note)

    def signed_since(self, session: Session) -> datetime | None:
        """When the first stored checkpoint was signed (None before the first)."""
        first: datetime | None = session.execute(select(func.min(CHECKPOINTS.c.signed_at))).scalar()
        if first is not None and first.tzinfo is None:  # SQLite keeps no zone; we always write UTC
            first = first.replace(tzinfo=UTC)
        return first

    def latest_checkpoint(self, session: Session) -> SignedCheckpoint | None:
        """The most recent stored checkpoint, or None before the first."""
        note = session.execute(select(CHECKPOINTS.c.note).order_by(CHECKPOINTS.c.tree_size.desc()).limit(1)).scalar()
        return None if note is None else SignedCheckpoint(read_note(note), note)

    def checkpoint_at(self, session: Session, tree_size: int) -> SignedCheckpoint | None:
        """The stored checkpoint of exactly `tree_size` leaves, if one was signed."""
        note = session.execute(select(CHECKPOINTS.c.note).where(CHECKPOINTS.c.tree_size == tree_size)).scalar()
        return None if note is None else SignedCheckpoint(read_note(note), note)
