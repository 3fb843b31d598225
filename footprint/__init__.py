"""Verified digital footprint: an xAPI learning record store backed by a Merkle ledger."""
