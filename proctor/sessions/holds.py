"""Holds: a session whose verdict is under appeal (or otherwise disputed) keeps its data — neither retention nor an
erasure request removes it — until the college lifts the hold. Placing and lifting a hold are ledger records."""

from __future__ import annotations

from datetime import UTC, datetime

from proctor.sessions.errors import InvalidInputError
from proctor.sessions.store import SessionStore, college_session

MAX_REASON = 500


def place_hold(store: SessionStore, college_id: str, session_id: str, reason: str, by: str) -> datetime:
    """Hold the session's data (an appeal, say); placing it again only updates the reason. Returns since when."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInputError(f"a hold needs a reason of 1 to {MAX_REASON} characters")
    now = datetime.now(UTC)
    with store.write() as db:
        row = college_session(db, college_id, session_id)
        row.held_at = row.held_at or now
        row.hold_reason = reason
        store.ledger.append(
            db, "session_hold", f"{session_id}/{now.isoformat()}", {"session": session_id, "reason": reason, "by": by}
        )
        return row.held_at


def lift_hold(store: SessionStore, college_id: str, session_id: str, by: str) -> bool:
    """Lift the session's hold; False when it had none."""
    now = datetime.now(UTC)
    with store.write() as db:
        row = college_session(db, college_id, session_id)
        if row.held_at is None:
            return False
        row.held_at, row.hold_reason = None, None
        store.ledger.append(
            db, "session_hold_lifted", f"{session_id}/{now.isoformat()}", {"session": session_id, "by": by}
        )
    return True
