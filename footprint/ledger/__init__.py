"""The ledger: an RFC 9162 Merkle tree over RFC 8785 canonical records, with proofs and signed checkpoints.

Components use `Ledger` (append in their own transaction, prove later); outside verifiers need only
`merkle`, `checkpoint` and a verifier key string.
"""

from footprint.ledger.checkpoint import Checkpoint, CheckpointError, SignedCheckpoint
from footprint.ledger.entries import DuplicateRecordError, LedgerEntry, LedgerError, Record, canonical
from footprint.ledger.keys import Signer, generate_signer, load_signer, write_keypair
from footprint.ledger.merkle import ConsistencyProof, InclusionProof, ProofError
from footprint.ledger.service import Ledger

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ConsistencyProof",
    "DuplicateRecordError",
    "InclusionProof",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "ProofError",
    "Record",
    "SignedCheckpoint",
    "Signer",
    "canonical",
    "generate_signer",
    "load_signer",
    "write_keypair",
]
