"""Matched passages between two texts' terms: seeds of SEED consecutive equal terms, chained along (near) one
diagonal across the words a copier changed, so a copy with a third of its words replaced is still one passage; the
passages of a reordered copy are found each on its own. Positions are character offsets into the original texts,
and each passage carries its word-level differences."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from proctor.material.normalise import Normalised

SEED = 2
"""Equal consecutive terms that start a match."""
GAP = 8
"""Terms a chain may skip between two seeds (words changed, added or left out)."""
SHIFT = 4
"""How far the two sides' gaps may differ (words added on one side only)."""
COMMON = 25
"""A seed found more often than this in the other text is boilerplate, not evidence."""
DENSITY = 0.5
"""A passage's matched terms over its length, at least."""

Kind = Literal["equal", "changed", "only"]


@dataclass(frozen=True)
class Piece:
    """A stretch of one side of a passage: `equal` on both sides, `changed` (replaced) or `only` on this side."""

    start: int
    end: int
    kind: Kind


@dataclass(frozen=True)
class Passage:
    """A matched passage: where it stands in the checked text (`a_*`) and in the other (`b_*`), as term indexes and
    character offsets, how many terms match, and the marked differences of each side."""

    a_first: int
    a_last: int
    b_first: int
    b_last: int
    a_start: int
    a_end: int
    b_start: int
    b_end: int
    matched: int
    a_pieces: tuple[Piece, ...]
    b_pieces: tuple[Piece, ...]

    @property
    def words(self) -> int:
        return self.a_last - self.a_first + 1


@dataclass
class _Chain:
    first_a: int
    first_b: int
    last_a: int
    last_b: int
    covered_a: set[int]
    covered_b: set[int]


def _seeds(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    where: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for j in range(len(b) - SEED + 1):
        where[tuple(b[j : j + SEED])].append(j)
    seeds: list[tuple[int, int]] = []
    for i in range(len(a) - SEED + 1):
        found = where.get(tuple(a[i : i + SEED]))
        if found and len(found) <= COMMON:
            seeds.extend((i, j) for j in found)
    return seeds


def _chains(seeds: list[tuple[int, int]]) -> list[_Chain]:
    """Seeds (sorted by position in the checked text) joined into chains along near diagonals."""
    done: list[_Chain] = []
    active: list[_Chain] = []
    for i, j in seeds:
        still: list[_Chain] = []
        for chain in active:
            (done if i - chain.last_a > GAP + SEED else still).append(chain)
        active = still
        best: _Chain | None = None
        best_gap = GAP + SEED + 1
        for chain in active:
            step_a, step_b = i - chain.last_a, j - chain.last_b
            if 0 < step_a <= GAP + SEED and 0 < step_b <= GAP + SEED + SHIFT and abs(step_a - step_b) <= SHIFT:
                if step_a + abs(step_a - step_b) < best_gap:
                    best, best_gap = chain, step_a + abs(step_a - step_b)
        if best is None:
            best = _Chain(i, j, i, j, set(), set())
            active.append(best)
        best.last_a, best.last_b = i, j
        best.covered_a.update(range(i, i + SEED))
        best.covered_b.update(range(j, j + SEED))
    return done + active


def _pieces(
    opcodes: Sequence[tuple[str, int, int, int, int]], text: Normalised, first: int, side: int
) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in opcodes:
        lo, hi = (i1, i2) if side == 0 else (j1, j2)
        if lo == hi:
            continue
        kind: Kind = "equal" if tag == "equal" else "changed" if tag == "replace" else "only"
        pieces.append(Piece(text.starts[first + lo], text.ends[first + hi - 1], kind))
    return tuple(pieces)


def _passage(chain: _Chain, a: Normalised, b: Normalised) -> Passage:
    a_first, a_last = min(chain.covered_a), max(chain.covered_a)
    b_first, b_last = min(chain.covered_b), max(chain.covered_b)
    matcher = difflib.SequenceMatcher(
        None, a.terms[a_first : a_last + 1], b.terms[b_first : b_last + 1], autojunk=False
    )
    opcodes = matcher.get_opcodes()
    return Passage(
        a_first,
        a_last,
        b_first,
        b_last,
        a.starts[a_first],
        a.ends[a_last],
        b.starts[b_first],
        b.ends[b_last],
        len(chain.covered_a),
        _pieces(opcodes, a, a_first, 0),
        _pieces(opcodes, b, b_first, 1),
    )


def passages(a: Normalised, b: Normalised, min_words: int = 12) -> list[Passage]:
    """The passages of `a` found in `b` (in the order of `a`), each at least `min_words` matched terms that cover at
    least half of its span; where two overlap in `a`, the longer stays."""
    chains = _chains(_seeds(a.terms, b.terms))
    kept: list[_Chain] = []
    taken: set[int] = set()
    for chain in sorted(chains, key=lambda c: (-len(c.covered_a), c.first_a, c.first_b)):
        span = max(chain.covered_a) - min(chain.covered_a) + 1
        if len(chain.covered_a) < min_words or len(chain.covered_a) < DENSITY * span:
            continue
        if len(chain.covered_a & taken) * 2 > len(chain.covered_a):
            continue
        kept.append(chain)
        taken |= chain.covered_a
    return sorted((_passage(chain, a, b) for chain in kept), key=lambda p: (p.a_first, p.b_first))


def covered(found: Sequence[Passage]) -> set[int]:
    """The term indexes of the checked text inside any of the passages."""
    indexes: set[int] = set()
    for passage in found:
        indexes.update(range(passage.a_first, passage.a_last + 1))
    return indexes
