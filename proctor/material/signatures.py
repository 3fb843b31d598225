"""MinHash signatures of a text's word shingles (datasketch), per overlapping segment of the text: a long source
(a textbook) is compared window by window, so a short answer copied from one page of it still stands out."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash
from numpy.typing import NDArray

NUM_PERM = 128
SEED = 20260712
"""The permutations every signature of the platform uses (a stored signature is compared with new ones)."""
SCHEME = "affine32"
SHINGLE = 2
"""Words per shingle: two keep a copy with 30 % of its words changed at a Jaccard similarity near 0.3."""
WINDOW = 400
"""Shingles per segment; a text up to this long is one segment."""
STEP = 200
MIN_TERMS = 8
"""A text with fewer terms is not indexed (it would match every other short text)."""

Signatures = NDArray[np.uint32]
"""One row of NUM_PERM hash values per segment."""

_MIX = (np.uint64(0x9E3779B1), np.uint64(0x85EBCA77), np.uint64(0xC2B2AE3D), np.uint64(0x27D4EB2F))


@functools.lru_cache(maxsize=1 << 18)
def term_hash(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


@functools.cache
def _permutations() -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    first = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    a, b = first.permutations
    return a, b


def shingle_values(terms: Sequence[str]) -> NDArray[np.uint32]:
    """A 32-bit value per shingle of SHINGLE consecutive terms (stable across processes and machines)."""
    hashes = np.fromiter((term_hash(term) for term in terms), dtype=np.uint64, count=len(terms))
    count = len(hashes) - SHINGLE + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint32)
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE):
        mixed ^= (hashes[offset : offset + count] * _MIX[offset]) & np.uint64(0xFFFFFFFF)
        mixed = ((mixed << np.uint64(5)) | (mixed >> np.uint64(27))) & np.uint64(0xFFFFFFFF)
    return mixed.astype(np.uint32)


def segments(count: int) -> list[tuple[int, int]]:
    """[start, end) of each segment over `count` shingles: windows of WINDOW every STEP, the last one ending at the
    end."""
    if count <= WINDOW:
        return [(0, count)]
    starts = list(range(0, count - WINDOW, STEP)) + [count - WINDOW]
    return [(start, start + WINDOW) for start in starts]


def _fmix32(values: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """The MurmurHash3 finalizer, as datasketch's affine32 scheme mixes an input hash before permuting it."""
    mixed = values ^ (values >> np.uint32(16))
    mixed = mixed * np.uint32(0x85EBCA6B)
    mixed = mixed ^ (mixed >> np.uint32(13))
    mixed = mixed * np.uint32(0xC2B2AE35)
    mixed = mixed ^ (mixed >> np.uint32(16))
    result: NDArray[np.uint32] = mixed.astype(np.uint32, copy=False)
    return result


def minhash(values: NDArray[np.uint32]) -> MinHash:
    """The datasketch MinHash of a set of shingle values (what `signatures` computes faster, a segment at a time)."""
    sketch = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, permutations=_permutations(), scheme=SCHEME)
    sketch.update_batch(values)
    return sketch


def signatures(terms: Sequence[str]) -> Signatures:
    """The signature of each segment of a text's terms (the hash values datasketch's MinHash of the segment's
    shingles holds); no rows for a text shorter than MIN_TERMS."""
    if len(terms) < MIN_TERMS:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    a, b = _permutations()
    values = shingle_values(terms)
    with np.errstate(over="ignore"):
        permuted = _fmix32(values).reshape(-1, 1) * a + b  # wraps modulo 2^32, as the scheme intends
    rows = [permuted[start:end].min(axis=0) for start, end in segments(len(values))]
    return np.asarray(rows, dtype=np.uint32)


def to_bytes(rows: Signatures) -> bytes:
    return rows.astype("<u4").tobytes()


def from_bytes(data: bytes) -> Signatures:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32).reshape(-1, NUM_PERM)
