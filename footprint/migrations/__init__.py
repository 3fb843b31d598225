"""Alembic environment of the platform database; revisions live in `versions/` (0001_ledger, 0002_…)."""
