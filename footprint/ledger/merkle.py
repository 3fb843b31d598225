"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and their verification.

Leaf hash = SHA-256(0x00 ‖ data); node hash = SHA-256(0x01 ‖ left ‖ right). The split point of a
tree of n > 1 leaves is the largest power of two smaller than n (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf's data."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node from its two children."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (not leaf data)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives the same tree as RFC 9162's recursive split: an odd node is promoted.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _int_field(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"proof field {key!r} must be a non-negative integer")
    return value


def _hash_list(data: Mapping[str, Any], key: str) -> tuple[bytes, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        raise ProofError(f"proof field {key!r} must be a list of base64 hashes")
    out: list[bytes] = []
    for item in value:
        try:
            raw = base64.b64decode(item, validate=True) if isinstance(item, str) else b""
        except binascii.Error:
            raw = b""
        if len(raw) != HASH_SIZE:
            raise ProofError(f"proof field {key!r} holds something that is not a base64 SHA-256 hash")
        out.append(raw)
    return tuple(out)


def _check_hashes(path: tuple[bytes, ...]) -> None:
    if any(len(h) != HASH_SIZE for h in path):
        raise ProofError("every proof hash must be 32 bytes")


@dataclass(frozen=True)
class InclusionProof:
    """The audit path of leaf `leaf_index` in the tree of `tree_size` leaves.

    `to_json`/`from_json` give the wire shape served by the web API and read by `footprint verify`:
    `{"leafIndex": int, "treeSize": int, "auditPath": [base64, ...]}`.
    """

    leaf_index: int
    tree_size: int
    audit_path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_hashes(self.audit_path)

    def to_json(self) -> dict[str, Any]:
        return {
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "auditPath": [_b64(h) for h in self.audit_path],
        }

    @classmethod
    def from_json(cls, data: object) -> InclusionProof:
        """Parse the wire shape; raises ProofError on anything malformed."""
        if not isinstance(data, Mapping):
            raise ProofError("an inclusion proof is a JSON object")
        return cls(_int_field(data, "leafIndex"), _int_field(data, "treeSize"), _hash_list(data, "auditPath"))


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of `first` leaves is a prefix of the tree of `second` leaves.

    Wire shape (web API and `footprint verify consistency`): `{"first": m, "second": n, "proof": [base64, ...]}`.
    """

    first: int
    second: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_hashes(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second, "proof": [_b64(h) for h in self.path]}

    @classmethod
    def from_json(cls, data: object) -> ConsistencyProof:
        """Parse the wire shape; raises ProofError on anything malformed."""
        if not isinstance(data, Mapping):
            raise ProofError("a consistency proof is a JSON object")
        return cls(_int_field(data, "first"), _int_field(data, "second"), _hash_list(data, "proof"))


def inclusion_path(leaves: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, over leaf hashes."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} outside a tree of {n} leaves")
    path: list[bytes] = []
    start, end = 0, n
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(root_hash(leaves[start + k : end]))
            end = start + k
        else:
            path.append(root_hash(leaves[start : start + k]))
            start += k
    return tuple(reversed(path))


def consistency_path(leaves: Sequence[bytes], first: int) -> tuple[bytes, ...]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1, over leaf hashes."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ProofError(f"first size {first} must be within 0..{n}")
    if first == 0:
        return ()
    path: list[bytes] = []
    start, end, m, complete = 0, n, first, True
    while True:
        if m == end - start:
            if not complete:
                path.append(root_hash(leaves[start:end]))
            break
        k = split_point(end - start)
        if m <= k:
            path.append(root_hash(leaves[start + k : end]))
            end = start + k
        else:
            path.append(root_hash(leaves[start : start + k]))
            start, m, complete = start + k, m - k, False
    return tuple(reversed(path))


def root_from_inclusion(proof: InclusionProof, leaf: bytes) -> bytes:
    """The root implied by a leaf hash and its audit path (RFC 9162 §2.1.3.2)."""
    if not 0 <= proof.leaf_index < proof.tree_size:
        raise ProofError(f"leaf index {proof.leaf_index} outside a tree of {proof.tree_size} leaves")
    fn, sn = proof.leaf_index, proof.tree_size - 1
    r = leaf
    for p in proof.audit_path:
        if sn == 0:
            raise ProofError("audit path is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("audit path is shorter than the tree needs")
    return r


def verify_inclusion(proof: InclusionProof, leaf: bytes, root: bytes) -> None:
    """Raise ProofError unless `leaf` is at `leaf_index` of the tree with `root`."""
    if root_from_inclusion(proof, leaf) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(proof: ConsistencyProof, first_root: bytes, second_root: bytes) -> None:
    """Raise ProofError unless `first_root` (size first) is a prefix of `second_root` (RFC 9162 §2.1.4.2)."""
    m, n, path = proof.first, proof.second, list(proof.path)
    if not 0 <= m <= n:
        raise ProofError(f"impossible sizes first={m} second={n}")
    if m == 0:  # every tree extends the empty tree
        if path:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if m == n:
        if path:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    if not path:
        raise ProofError("empty consistency proof")
    if m & (m - 1) == 0:  # m is a power of two: the first root is itself a node of the path
        path.insert(0, first_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the trees need")
    if fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not match the two roots")
