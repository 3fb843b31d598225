"""Addresses of stored Merkle nodes, so that a stored tree answers proofs with one indexed lookup.

Every complete subtree of an RFC 9162 tree is a `NodeRef(level, position)`: it covers the leaves
[position·2^level, (position+1)·2^level). Any hash a proof needs (MTH of a leaf range) is a right-leaning
fold of at most ⌈log₂ n⌉ such complete nodes, and a `Frontier` (one complete node per set bit of the
size) is all that appending needs: each new leaf completes O(1) nodes on average.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from footprint.ledger.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, node_hash, split_point


@dataclass(frozen=True, order=True)
class NodeRef:
    """A complete subtree: level 0 is a leaf, level k covers 2^k leaves starting at position·2^k."""

    level: int
    position: int

    def __post_init__(self) -> None:
        if self.level < 0 or self.position < 0:
            raise ValueError(f"impossible node {self.level}/{self.position}")


@dataclass(frozen=True)
class Span:
    """A half-open range of leaves [start, end) whose MTH a proof needs."""

    start: int
    end: int


@dataclass(frozen=True)
class StoredNode:
    """A complete node and its hash, as appending produces it for storage."""

    ref: NodeRef
    hash: bytes


def span_nodes(span: Span) -> tuple[NodeRef, ...]:
    """The complete subtrees, left to right, whose right-leaning fold is MTH(span).

    Spans produced by the RFC 9162 recursion start at a multiple of a power of two at least as large as
    their length, so the greedy binary decomposition of the length yields aligned complete nodes.
    """
    refs: list[NodeRef] = []
    start, remaining = span.start, span.end - span.start
    while remaining > 0:
        level = remaining.bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"span {span} is not aligned to the tree")
        refs.append(NodeRef(level, start >> level))
        start += 1 << level
        remaining -= 1 << level
    return tuple(refs)


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive complete subtrees of decreasing size: node(h0, node(h1, … hk))."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def inclusion_spans(index: int, size: int) -> tuple[Span, ...]:
    """The ranges whose MTHs form PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} outside a tree of {size} leaves")
    spans: list[Span] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            spans.append(Span(start + k, end))
            end = start + k
        else:
            spans.append(Span(start, start + k))
            start += k
    return tuple(reversed(spans))


def consistency_spans(first: int, second: int) -> tuple[Span, ...]:
    """The ranges whose MTHs form PROOF(first, D[second]) of RFC 9162 §2.1.4.1, in proof order."""
    if not 0 <= first <= second:
        raise ProofError(f"impossible sizes first={first} second={second}")
    if first == 0:  # every tree extends the empty tree: the proof is empty
        return ()
    spans: list[Span] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            spans.append(Span(start + k, end))
            end = start + k
        else:
            spans.append(Span(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        spans.append(Span(start, end))
    return tuple(reversed(spans))


def root_span_nodes(size: int) -> tuple[NodeRef, ...]:
    """The complete subtrees whose fold is the root of a tree of `size` leaves."""
    return span_nodes(Span(0, size))


def resolve(spans: Iterable[Span], hashes: Mapping[NodeRef, bytes]) -> tuple[bytes, ...]:
    """The MTH of each span from looked-up node hashes; raises ProofError if a node is missing."""
    out: list[bytes] = []
    for span in spans:
        try:
            out.append(fold([hashes[ref] for ref in span_nodes(span)]))
        except KeyError as exc:
            raise ProofError(f"stored tree lacks node {exc.args[0]}") from exc
    return tuple(out)


def needed_nodes(spans: Iterable[Span]) -> set[NodeRef]:
    """Every complete node that `resolve` will read for these spans."""
    return {ref for span in spans for ref in span_nodes(span)}


class Frontier:
    """The right edge of the tree: the complete subtree for each set bit of its size, lowest level first.

    Appending a leaf merges equal-sized subtrees like a binary counter and reports the nodes it completes.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} holds {size.bit_count()} hashes, not {len(hashes)}")
        self.size = size
        self._levels: dict[int, bytes] = {}
        it = iter(hashes)
        for level in range(size.bit_length()):
            if size >> level & 1:
                self._levels[level] = next(it)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> Frontier:
        """Rebuild from `to_bytes()`; raises ValueError if the blob does not fit the size."""
        if len(blob) % HASH_SIZE:
            raise ValueError("frontier blob is not a whole number of hashes")
        return cls(size, [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        return b"".join(self._levels[level] for level in sorted(self._levels))

    def append(self, leaf: bytes) -> Iterator[StoredNode]:
        """Add one leaf hash; yield the leaf and every interior node it completes."""
        index = self.size
        yield StoredNode(NodeRef(0, index), leaf)
        h, level = leaf, 0
        while level in self._levels:
            h = node_hash(self._levels.pop(level), h)
            level += 1
            yield StoredNode(NodeRef(level, index >> level), h)
        self._levels[level] = h
        self.size += 1

    def root(self) -> bytes:
        """MTH of the whole tree."""
        return fold([self._levels[level] for level in sorted(self._levels, reverse=True)])
