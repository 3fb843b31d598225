"""A college's index of texts for finding copies: the MinHash signature of each text's segments in a datasketch LSH
(banded so a copy with a third of its words changed still shares a band), and the signatures themselves, so the
candidates a band turns up are ranked by their estimated similarity before any text is aligned."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from proctor.material.signatures import NUM_PERM, SCHEME, SEED, Signatures

BANDS = 64
ROWS = 2
"""64 bands of 2 hash values: segments at Jaccard similarity 0.2 share a band 93 % of the time, at 0.3 99.8 %, at
0.03 6 %."""
CANDIDATES = 12
"""Texts aligned per check, the most similar first."""
MIN_ESTIMATE = 0.02
"""A candidate estimated less similar than this is not aligned."""


@dataclass(frozen=True)
class Candidate:
    """A text an LSH band turned up, with the highest estimated Jaccard similarity of any pair of segments."""

    text_id: int
    estimate: float


class MaterialIndex:
    """The LSH of one college's texts (thread-safe; texts are only added: a removed text means a new index)."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
        self._owners: list[int] = []
        """The text of each segment (a segment's key in the LSH is its position here)."""
        self._blocks: list[Signatures] = []
        self._matrix: Signatures = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._texts: set[int] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, text_id: object) -> bool:
        return text_id in self._texts

    def add(self, text_id: int, rows: Signatures) -> None:
        """Index a text's segment signatures (a text without any, too short, is remembered but not indexed)."""
        self.add_many([(text_id, rows)])

    def add_many(self, texts: Iterable[tuple[int, Signatures]]) -> None:
        with self._lock:
            with self._lsh.insertion_session() as session:
                for text_id, rows in texts:
                    if text_id in self._texts:
                        continue
                    self._texts.add(text_id)
                    for row in rows:
                        key = len(self._owners)
                        self._owners.append(text_id)
                        session.insert(
                            key, LeanMinHash(seed=SEED, hashvalues=row, scheme=SCHEME), check_duplication=False
                        )
                    if len(rows):
                        self._blocks.append(rows)

    def _signatures(self) -> Signatures:
        if self._blocks:
            self._matrix = np.concatenate([self._matrix, *self._blocks])
            self._blocks = []
        return self._matrix

    def candidates(
        self, rows: Signatures, keep: Callable[[int], bool] = lambda _: True, limit: int = CANDIDATES
    ) -> list[Candidate]:
        """The texts most like the one of `rows` (as estimated from the signatures), best first; `keep` says which
        texts may be returned (not the text itself, nor another of its author's)."""
        with self._lock:
            keys: set[int] = set()
            for row in rows:
                keys.update(self._lsh.query(LeanMinHash(seed=SEED, hashvalues=row, scheme=SCHEME)))
            if not keys:
                return []
            ordered = np.fromiter(sorted(keys), dtype=np.int64, count=len(keys))
            owners = [self._owners[key] for key in ordered]
            matrix = self._signatures()[ordered]
        estimates = (matrix[:, None, :] == rows[None, :, :]).mean(axis=2).max(axis=1)
        best: dict[int, float] = {}
        for owner, estimate in zip(owners, estimates.tolist(), strict=True):
            if estimate >= MIN_ESTIMATE and estimate > best.get(owner, -1.0) and keep(owner):
                best[owner] = estimate
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [Candidate(text_id, round(estimate, 4)) for text_id, estimate in ranked]
