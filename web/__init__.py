"""FastAPI server: college API, xAPI endpoints, ledger proofs and pages."""
