"""Audit of the ledger's stored rows: recompute the whole tree and report every row that no longer fits.

Three independent witnesses are compared: each entry's canonical payload (what the data says now), the
stored leaf and interior nodes (what the tree said when it was appended), and the signed checkpoints
(what the ledger published, which nobody can re-sign without the key). A row whose payload no longer
hashes to its tree leaf was changed; a leaf that sits at another index was reordered; a missing index
was removed; a tree or checkpoint that disagrees with the data was rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from footprint.ledger.checkpoint import CheckpointError, read_note
from footprint.ledger.history import Verifier, verify_checkpoint
from footprint.ledger.merkle import leaf_hash, node_hash
from footprint.ledger.service import CHECKPOINTS, ENTRIES, HEAD, NODES
from footprint.ledger.tree import Frontier, NodeRef, fold, root_span_nodes

logger = logging.getLogger(__name__)

BATCH = 20_000


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
    BAD_SIGNATURE = "bad-signature"  # a checkpoint not signed by the given key (of its tree size), or edited


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


ABSENT = bytes(32)  # stands in for a missing row or node; no SHA-256 output is all zeros in practice


@dataclass
class _Leaves:
    """Two views of the leaves, by index: the hash of each row's payload, and the tree's stored leaf node."""

    content: list[bytes]
    tree: list[bytes]
    edited_column: set[int]  # rows whose leaf_hash column disagrees with their payload
    outside: list[Finding]  # rows past the ledger's size


def _batched(session: Session, statement: Select[Any]) -> Iterator[Row[Any]]:
    """Rows in batches (a server-side cursor on PostgreSQL), so a million-row ledger streams."""
    for partition in session.execute(statement.execution_options(yield_per=BATCH)).partitions():
        yield from partition


def _load(session: Session, size: int) -> _Leaves:
    leaves = _Leaves([ABSENT] * size, [ABSENT] * size, set(), [])
    query = select(ENTRIES.c.index, ENTRIES.c.payload, ENTRIES.c.leaf_hash).order_by(ENTRIES.c.index)
    for row in _batched(session, query):
        index = int(row[0])
        if not 0 <= index < size:
            leaves.outside.append(
                Finding(FindingKind.UNEXPECTED, index, f"row {index} lies outside the ledger of {size}")
            )
            continue
        content = leaf_hash(bytes(row.payload))
        leaves.content[index] = content
        if bytes(row.leaf_hash) != content:
            leaves.edited_column.add(index)
    tree_leaves = select(NODES.c.position, NODES.c.hash).where(NODES.c.level == 0).order_by(NODES.c.position)
    for row in _batched(session, tree_leaves):
        if 0 <= row.position < size:
            leaves.tree[row.position] = bytes(row.hash)
    return leaves


def _row_findings(leaves: _Leaves) -> list[Finding]:
    findings: list[Finding] = []
    differing = [i for i, (c, t) in enumerate(zip(leaves.content, leaves.tree, strict=True)) if c != t]
    where_in_tree = {h: i for i, h in enumerate(leaves.tree) if h != ABSENT} if differing else {}
    for index in sorted({*differing, *leaves.edited_column}):
        content, tree = leaves.content[index], leaves.tree[index]
        origin = where_in_tree.get(content)
        if content == ABSENT:
            findings.append(Finding(FindingKind.REMOVED, index, f"row {index} is missing"))
        elif content == tree:
            findings.append(Finding(FindingKind.LEAF_HASH_CHANGED, index, f"row {index}: leaf_hash column edited"))
        elif origin is not None and origin != index:
            findings.append(Finding(FindingKind.REORDERED, index, f"row {index} holds the record appended at {origin}"))
        elif tree == ABSENT:
            findings.append(Finding(FindingKind.NODE_MISSING, index, f"leaf node {index} is missing"))
        else:
            how = (
                "its leaf_hash no longer fits"
                if index in leaves.edited_column
                else "and its leaf_hash was rewritten to match"
            )
            findings.append(Finding(FindingKind.CHANGED, index, f"row {index}: payload changed, {how}"))
    return findings + leaves.outside


def _node_findings(session: Session, tree: list[bytes], size: int) -> tuple[list[Finding], dict[NodeRef, bytes]]:
    """Check each stored interior node against its two stored children, one level at a time.

    Comparing with the stored children (not recomputed ones) pins a forged node to itself and its parent
    instead of every ancestor. Also returns the stored nodes whose fold is the tree's root at `size`.
    """
    findings: list[Finding] = []
    top = {(ref.level, ref.position) for ref in root_span_nodes(size)}
    top_hashes = {NodeRef(0, size - 1): tree[size - 1]} if size & 1 else {}
    below, level = tree, 0
    query = select(NODES.c.level, NODES.c.position, NODES.c.hash).where(NODES.c.level > 0)
    rows = _batched(session, query.order_by(NODES.c.level, NODES.c.position))
    pending = next(rows, None)
    while len(below) > 1 or (pending is not None and pending.level > level):
        level += 1
        expected = [node_hash(left, right) for left, right in zip(below[0::2], below[1::2], strict=False)]
        stored = [ABSENT] * len(expected)
        while pending is not None and pending.level == level:
            position, found = int(pending.position), bytes(pending.hash)
            if position < len(stored):
                stored[position] = found
            else:
                findings.append(
                    Finding(FindingKind.NODE_CHANGED, None, f"node {level}/{position} lies outside the tree")
                )
            pending = next(rows, None)
        for position, (want, got) in enumerate(zip(expected, stored, strict=True)):
            if got == ABSENT:
                findings.append(Finding(FindingKind.NODE_MISSING, None, f"node {level}/{position} is missing"))
            elif want != got and ABSENT not in (below[2 * position], below[2 * position + 1]):
                findings.append(
                    Finding(FindingKind.NODE_CHANGED, None, f"node {level}/{position} differs from its children")
                )
            if (level, position) in top:
                top_hashes[NodeRef(level, position)] = got
        below = stored
    return findings, top_hashes


def _prefix_roots(leaves: list[bytes], sizes: set[int]) -> dict[int, bytes]:
    """Root of every requested prefix of `leaves` in one pass over a frontier stack (highest subtree first)."""
    stack: list[bytes] = []
    roots = {0: fold([])} if 0 in sizes else {}
    for count, leaf in enumerate(leaves, start=1):
        h, n = leaf, count - 1
        while n & 1:
            h = node_hash(stack.pop(), h)
            n >>= 1
        stack.append(h)
        if count in sizes:
            roots[count] = fold(stack)
    return roots


def _checkpoint_findings(
    session: Session, content: list[bytes], verifier: Verifier | None
) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    rows = session.execute(select(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.root_hash, CHECKPOINTS.c.note)).all()
    signed: dict[int, bytes] = {}
    for size, root, note in rows:
        try:
            checkpoint = verify_checkpoint(note, verifier) if verifier else read_note(note)
        except CheckpointError as exc:
            findings.append(Finding(FindingKind.BAD_SIGNATURE, None, f"checkpoint at size {size}: {exc}"))
            continue
        if checkpoint.tree_size != size or checkpoint.root_hash != bytes(root):
            findings.append(Finding(FindingKind.BAD_SIGNATURE, None, f"checkpoint row {size} differs from its note"))
            continue
        signed[size] = checkpoint.root_hash
    data_roots = _prefix_roots(content, set(signed))
    for size in sorted(signed):
        if size not in data_roots:
            detail = f"checkpoint at size {size} is past the ledger's end"
        elif data_roots[size] != signed[size]:
            detail = f"the rows no longer match the checkpoint signed at size {size}"
        else:
            continue
        findings.append(Finding(FindingKind.CHECKPOINT_MISMATCH, None, detail))
    return findings, len(rows)


def audit(session: Session, verifier: Verifier | None = None) -> AuditReport:
    """Recompute the tree from every stored row; with a verifier key string, also check every checkpoint's signature,
    and with the ledger's key history, that each checkpoint is signed by the key of its tree size."""
    head = session.execute(select(HEAD.c.size, HEAD.c.frontier).where(HEAD.c.id == 1)).first()
    size = 0 if head is None else int(head.size)
    leaves = _load(session, size)
    findings = _row_findings(leaves)
    node_findings, top = _node_findings(session, leaves.tree, size)
    if head is not None:
        try:
            head_root = Frontier.from_bytes(size, bytes(head.frontier)).root()
        except ValueError:
            head_root = ABSENT
        if head_root != fold([top[ref] for ref in root_span_nodes(size)]):
            findings.append(
                Finding(FindingKind.HEAD_CHANGED, None, "the head's frontier does not match the stored tree")
            )
    checkpoint_findings, checkpoints = _checkpoint_findings(session, leaves.content, verifier)
    rows = sum(1 for c in leaves.content if c != ABSENT)
    report = AuditReport(size, rows, checkpoints, tuple(findings + node_findings + checkpoint_findings))
    logger.info("audited %d rows and %d checkpoints: %d findings", rows, checkpoints, len(report.findings))
    return report
