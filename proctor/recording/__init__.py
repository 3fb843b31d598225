"""Kept recordings: fixed-length chunks with a sha256 each, and the storage they live in."""
