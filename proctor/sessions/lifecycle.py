"""The exam-session lifecycle and the moves it allows."""

from __future__ import annotations

from enum import StrEnum

from proctor.sessions.errors import StateError


class Status(StrEnum):
    SCHEDULED = "scheduled"
    DECLINED = "declined"
    """The candidate did not accept the proctoring terms: the exam never started (final)."""
    IDENTITY_CHECK = "identity_check"
    ROOM_SCAN = "room_scan"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    ANALYSED = "analysed"
    REVIEWED = "reviewed"
    CONFIRMED = "confirmed"
    ANNULLED = "annulled"
    RETAKE = "retake"


VERDICTS = (Status.CONFIRMED, Status.ANNULLED, Status.RETAKE)

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.SCHEDULED: frozenset({Status.IDENTITY_CHECK, Status.SUBMITTED, Status.DECLINED}),
    Status.DECLINED: frozenset(),
    Status.IDENTITY_CHECK: frozenset({Status.ROOM_SCAN, Status.IN_PROGRESS, Status.SUBMITTED}),
    Status.ROOM_SCAN: frozenset({Status.IN_PROGRESS, Status.SUBMITTED}),
    Status.IN_PROGRESS: frozenset({Status.SUBMITTED}),
    # more recording may arrive after a disconnect; analysis then runs again
    Status.SUBMITTED: frozenset({Status.SUBMITTED, Status.ANALYSED}),
    Status.ANALYSED: frozenset({Status.SUBMITTED, Status.ANALYSED, Status.REVIEWED, *VERDICTS}),
    Status.REVIEWED: frozenset({Status.REVIEWED, *VERDICTS}),
    Status.CONFIRMED: frozenset({*VERDICTS}),
    Status.ANNULLED: frozenset({*VERDICTS}),
    Status.RETAKE: frozenset({*VERDICTS}),
}


def move(current: str, target: Status) -> Status:
    """Check a move of the lifecycle; raise StateError with both states named if it is not allowed."""
    state = Status(current)
    if target not in ALLOWED[state]:
        raise StateError(f"a session that is {state.value} cannot become {target.value}")
    return target
