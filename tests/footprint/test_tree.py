"""Stored-node geometry: the frontier and the span decomposition give exactly the RFC 9162 hashes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footprint.ledger.merkle import consistency_path, inclusion_path, leaf_hash, root_hash
from footprint.ledger.tree import (
    Frontier,
    NodeRef,
    Span,
    StoredNode,
    consistency_spans,
    inclusion_spans,
    needed_nodes,
    resolve,
    root_span_nodes,
    span_nodes,
)


def build(size: int) -> tuple[list[bytes], dict[NodeRef, bytes], Frontier]:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    frontier = Frontier()
    stored: list[StoredNode] = []
    for leaf in leaves:
        stored.extend(frontier.append(leaf))
    return leaves, {node.ref: node.hash for node in stored}, frontier


def test_span_decomposition() -> None:
    assert span_nodes(Span(0, 13)) == (NodeRef(3, 0), NodeRef(2, 2), NodeRef(0, 12))
    assert root_span_nodes(0) == ()
    with pytest.raises(ValueError, match="aligned"):
        span_nodes(Span(1, 3))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 400), data=st.data())
def test_stored_nodes_answer_every_proof(size: int, data: st.DataObject) -> None:
    leaves, nodes, frontier = build(size)
    assert frontier.root() == root_hash(leaves)
    assert len(nodes) == 2 * size - size.bit_count()  # every complete subtree, leaves included
    restored = Frontier.from_bytes(size, frontier.to_bytes())
    assert restored.root() == frontier.root()
    index = data.draw(st.integers(0, size - 1))
    spans = inclusion_spans(index, size)
    assert len(needed_nodes(spans)) <= 2 * size.bit_length()
    assert resolve(spans, nodes) == inclusion_path(leaves, index)
    first = data.draw(st.integers(1, size))
    assert resolve(consistency_spans(first, size), nodes) == consistency_path(leaves, first)
    prefix = data.draw(st.integers(1, size))
    assert resolve([Span(0, prefix)], nodes) == (root_hash(leaves[:prefix]),)


def test_frontier_rejects_a_blob_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        Frontier.from_bytes(3, bytes(32))
    with pytest.raises(ValueError):
        Frontier.from_bytes(1, bytes(31))
