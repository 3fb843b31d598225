"""Audit of the ledger's stored rows: recompute the whole tree and report every row that no longer fits.

Three independent witnesses are compared: each entry's canonical payload (what the data says now), the
stored leaf and interior nodes (what the tree said when it was appended), and the signed checkpoints
(what the ledger published, which nobody can re-sign without the key). A row whose payload no longer
hashes to its tree leaf was changed; a leaf that sits at another index was reordered; a missing index
was removed; a tree or checkpoint that disagrees with the data was rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from footprint.ledger.checkpoint import CheckpointError, read_note, verify
from footprint.ledger.merkle import leaf_hash, node_hash
from footprint.ledger.service import CHECKPOINTS, ENTRIES, HEAD, NODES
from footprint.ledger.tree import Frontier

logger = logging.getLogger(__name__)

BATCH = 20_000
MISSING = b""  # stands in for a leaf that is gone; hashes like no real leaf


class FindingKind(StrEnum):
    """What kind of disagreement a finding records."""

    CHANGED = "changed"  # the payload no longer hashes to the leaf the tree holds for this index
    LEAF_HASH_CHANGED = "leaf-hash-changed"  # the stored leaf_hash column was edited, the payload was not
    REORDERED = "reordered"  # this index holds the record that the tree has at another index
    REMOVED = "removed"  # no row at an index below the ledger size
    UNEXPECTED = "unexpected"  # a row past the ledger size
    NODE_CHANGED = "node-changed"  # a stored interior node differs from the one recomputed from the leaves
    NODE_MISSING = "node-missing"  # a complete subtree of the tree has no stored node
    HEAD_CHANGED = "head-changed"  # the head's size or frontier disagree with the stored tree
    CHECKPOINT_MISMATCH = "checkpoint-mismatch"  # the data's root at a signed size differs from the signed root
    BAD_SIGNATURE = "bad-signature"  # a stored checkpoint is not signed by the given key, or was edited


@dataclass(frozen=True)
class Finding:
    """One disagreement; `index` is the leaf index for row findings, else None (or the node's level/position)."""

    kind: FindingKind
    index: int | None
    detail: str


@dataclass(frozen=True)
class AuditReport:
    """The outcome of an audit: sizes looked at and every finding, row findings first in index order."""

    tree_size: int
    rows: int
    checkpoints: int
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def tampered_indexes(self) -> tuple[int, ...]:
        """Leaf indexes of every row that was changed, reordered, removed or added."""
        return tuple(sorted({f.index for f in self.findings if f.index is not None and f.kind in ROW_KINDS}))


ROW_KINDS = {
    FindingKind.CHANGED,
    FindingKind.LEAF_HASH_CHANGED,
    FindingKind.REORDERED,
    FindingKind.REMOVED,
    FindingKind.UNEXPECTED,
}


@dataclass
class _Stored:
    """The three views of the leaves, indexed by position; None where a row or node is missing."""

    content: list[bytes | None]
    column: list[bytes | None]
    tree: list[bytes | None]


def _batched(session: Session, statement: Select[Any]) -> Iterator[Row[Any]]:
    """Rows in batches (a server-side cursor on PostgreSQL), so a million-row ledger streams."""
    for partition in session.execute(statement.execution_options(yield_per=BATCH)).partitions():
        yield from partition


def _load(session: Session, size: int) -> tuple[_Stored, list[Finding]]:
    findings: list[Finding] = []
    content: list[bytes | None] = [None] * size
    column: list[bytes | None] = [None] * size
    tree: list[bytes | None] = [None] * size
    query = select(ENTRIES.c.index, ENTRIES.c.payload, ENTRIES.c.leaf_hash).order_by(ENTRIES.c.index)
    for row in _batched(session, query):
        index = int(row[0])
        if not 0 <= index < size:
            findings.append(Finding(FindingKind.UNEXPECTED, index, f"row {index} lies outside the ledger of {size}"))
            continue
        content[index] = leaf_hash(bytes(row.payload))
        column[index] = bytes(row.leaf_hash)
    leaves = select(NODES.c.position, NODES.c.hash).where(NODES.c.level == 0).order_by(NODES.c.position)
    for row in _batched(session, leaves):
        if 0 <= row.position < size:
            tree[row.position] = bytes(row.hash)
    return _Stored(content, column, tree), findings


def _row_findings(stored: _Stored) -> list[Finding]:
    where_in_tree = {h: i for i, h in enumerate(stored.tree) if h is not None}
    findings: list[Finding] = []
    for index, (content, column, tree) in enumerate(zip(stored.content, stored.column, stored.tree, strict=True)):
        if content is None:
            findings.append(Finding(FindingKind.REMOVED, index, f"row {index} is missing"))
        elif tree is None or content != tree:
            origin = where_in_tree.get(content)
            if origin is not None and origin != index:
                findings.append(
                    Finding(FindingKind.REORDERED, index, f"row {index} holds the record appended at {origin}")
                )
            elif tree is None:
                findings.append(Finding(FindingKind.NODE_MISSING, index, f"leaf node {index} is missing"))
            else:
                how = (
                    "and its leaf_hash was rewritten to match" if column == content else "its leaf_hash no longer fits"
                )
                findings.append(Finding(FindingKind.CHANGED, index, f"row {index}: payload changed, {how}"))
        elif column != content:
            findings.append(Finding(FindingKind.LEAF_HASH_CHANGED, index, f"row {index}: leaf_hash column edited"))
    return findings


def _node_findings(session: Session, tree: Sequence[bytes | None]) -> list[Finding]:
    """Compare stored interior nodes with those recomputed from the stored leaves, level by level."""
    findings: list[Finding] = []
    level_hashes = list(tree)
    level = 0
    query = select(NODES.c.level, NODES.c.position, NODES.c.hash).where(NODES.c.level > 0)
    stored = {(int(r.level), int(r.position)): bytes(r.hash) for r in _batched(session, query)}
    expected = 0
    while len(level_hashes) > 1:
        level += 1
        parents: list[bytes | None] = []
        for position in range(len(level_hashes) // 2):
            left, right = level_hashes[2 * position], level_hashes[2 * position + 1]
            computed = node_hash(left, right) if left is not None and right is not None else None
            found = stored.pop((level, position), None)
            expected += 1
            if found is None:
                findings.append(Finding(FindingKind.NODE_MISSING, None, f"node {level}/{position} is missing"))
            elif computed is not None and found != computed:
                findings.append(
                    Finding(FindingKind.NODE_CHANGED, None, f"node {level}/{position} differs from its children")
                )
            parents.append(found if computed is None else computed)
        level_hashes = parents
    for lv, pos in sorted(stored):
        findings.append(Finding(FindingKind.NODE_CHANGED, None, f"node {lv}/{pos} lies outside the tree"))
    logger.debug("checked %d interior nodes", expected)
    return findings


def _roots_at(leaves: Sequence[bytes | None], sizes: set[int]) -> dict[int, bytes]:
    """Root of every requested prefix of `leaves` in one pass (a missing leaf hashes as an empty one)."""
    frontier, roots = Frontier(), {}
    if 0 in sizes:
        roots[0] = frontier.root()
    for leaf in leaves:
        for _ in frontier.append(leaf_hash(MISSING) if leaf is None else leaf):
            pass
        if frontier.size in sizes:
            roots[frontier.size] = frontier.root()
    return roots


def _checkpoint_findings(session: Session, stored: _Stored, verifier: str | None) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    rows = session.execute(select(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.root_hash, CHECKPOINTS.c.note)).all()
    signed: dict[int, bytes] = {}
    for size, root, note in rows:
        try:
            checkpoint = verify(note, verifier) if verifier else read_note(note)
        except CheckpointError as exc:
            findings.append(Finding(FindingKind.BAD_SIGNATURE, None, f"checkpoint at size {size}: {exc}"))
            continue
        if checkpoint.tree_size != size or checkpoint.root_hash != bytes(root):
            findings.append(Finding(FindingKind.BAD_SIGNATURE, None, f"checkpoint row {size} differs from its note"))
            continue
        signed[size] = checkpoint.root_hash
    data_roots = _roots_at(stored.content, set(signed))
    for size in sorted(signed):
        if size not in data_roots:
            findings.append(
                Finding(FindingKind.CHECKPOINT_MISMATCH, None, f"checkpoint at size {size} is past the ledger's end")
            )
        elif data_roots[size] != signed[size]:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_MISMATCH,
                    None,
                    f"the rows no longer match the checkpoint signed at size {size}",
                )
            )
    return findings, len(rows)


def audit(session: Session, verifier: str | None = None) -> AuditReport:
    """Recompute the tree from every stored row; with a verifier key string, also check every checkpoint's signature."""
    head = session.execute(select(HEAD.c.size, HEAD.c.frontier).where(HEAD.c.id == 1)).first()
    size = 0 if head is None else int(head.size)
    stored, findings = _load(session, size)
    findings = _row_findings(stored) + findings
    node_findings = _node_findings(session, stored.tree)
    if head is not None:
        try:
            head_root = Frontier.from_bytes(size, bytes(head.frontier)).root()
        except ValueError:
            head_root = b""
        tree_root = _roots_at(stored.tree, {size}).get(size)
        if head_root != tree_root:
            findings.append(
                Finding(FindingKind.HEAD_CHANGED, None, "the head's frontier does not match the stored tree")
            )
    checkpoint_findings, checkpoints = _checkpoint_findings(session, stored, verifier)
    rows = sum(1 for c in stored.content if c is not None)
    report = AuditReport(size, rows, checkpoints, tuple(findings + node_findings + checkpoint_findings))
    logger.info("audited %d rows and %d checkpoints: %d findings", rows, checkpoints, len(report.findings))
    return report
