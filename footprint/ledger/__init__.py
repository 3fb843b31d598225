"""The ledger: an RFC 9162 Merkle tree over canonical records, with proofs and signed checkpoints."""
