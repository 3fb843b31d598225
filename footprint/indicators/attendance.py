"""Attendance of synchronous classes from join / leave / attended statements, against the timetable.

Rules (indicator version 1):
- A class's statements are meeting statements on its activity (or its registration) from 15 min before
  its start to its end; a `attended` statement (Jisc) up to 6 h after the end decides the status itself.
- Presence runs from a join (or `initialized`) to the next leave (or `terminated`, up to 30 min after the
  end; presence is counted within the class's times only). A join with no leave
  — a closed tab sends nothing — is closed by the learner's next login (a new sign-in means the old
  browser session ended) or, failing that, by the class's end: the learner is taken as present to the end.
- Presence before the window is carried in: a person still in the virtual class when the window opens — a
  join before it whose leave comes later (back-to-back classes in one reused room), or a join with no leave
  after the previous class in that room ended and no login since (an early join) — is present from the start.
- Absent: no presence. Late: the first join more than 10 min after the start. Left early: presence ends
  more than 10 min before the end (and the learner was not late). Present: the rest.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from footprint.catalogue.index import ClassInfo
from footprint.facts.columns import NO_FLAG, Facts
from footprint.indicators.period import Period, iso
from footprint.vocabulary import Category, Kind, module_id

EARLY_JOIN_S = 15 * 60
LATE_AFTER_S = 10 * 60
EARLY_LEAVE_S = 10 * 60
ATTENDED_AFTER_S = 6 * 3600
LEAVE_AFTER_S = 30 * 60
TEACHER_ON_TIME_S = 5 * 60
OPENS = (int(Kind.JOINED), int(Kind.INITIALIZED))
CLOSES = (int(Kind.LEFT), int(Kind.TERMINATED))
STATUSES = ("present", "late", "left_early", "absent")


@dataclass(frozen=True)
class ClassAttendance:
    """One learner at one synchronous class."""

    class_id: str
    discipline: str
    start: str | None
    status: str
    minutes_present: float
    first_join: str | None
    presence_end: str | None
    end_inferred: bool
    """The presence was closed by the missing-leave rule (no leave statement)."""
    source: str
    """`meeting` (join/leave), `attended` (an attendance record) or `none`."""


@dataclass(frozen=True)
class ClassHeld:
    """Whether a teacher was connected to a synchronous class."""

    class_id: str
    group: str
    discipline: str
    start: str | None
    held: bool
    on_time: bool
    first_join: str | None


def synchronous_classes(classes: list[ClassInfo], period: Period) -> list[ClassInfo]:
    """The synchronous classes that started inside the period."""
    return [c for c in classes if c.session.mode == "synchronous" and period.since <= c.start < period.until]


@dataclass(frozen=True)
class Event:
    """A meeting statement or a login of one person: when, what kind, and an attendance record's flags."""

    at: int
    kind: int
    completion: int
    late: int


class Timeline:
    """One person's meeting statements by activity and registration, and logins, each sorted by time."""

    def __init__(self, facts: Facts) -> None:
        self.terms = facts.terms
        self._room_moves: dict[tuple[int, int], list[Event]] = {}
        self.by_object: dict[int, list[Event]] = {}
        self.by_registration: dict[int, list[Event]] = {}
        self.logins: list[int] = sorted(int(t) for t in facts.at[facts.kind == Kind.LOGIN])
        # meeting statements, and attendance records whatever their object's type (the Jisc recipe names none)
        meeting = np.flatnonzero((facts.category == Category.MEETING) | (facts.kind == Kind.ATTENDED))
        order = meeting[np.argsort(facts.at[meeting], kind="stable")]
        for i in order:
            event = Event(int(facts.at[i]), int(facts.kind[i]), int(facts.completion[i]), int(facts.late[i]))
            if facts.object[i]:
                self.by_object.setdefault(int(facts.object[i]), []).append(event)
            if facts.registration[i]:
                self.by_registration.setdefault(int(facts.registration[i]), []).append(event)

    def _keys(self, info: ClassInfo) -> tuple[int, int]:
        activity = self.terms.get(module_id(info.session.activity or ""), 0)
        return activity, self.terms.get((info.session.registration or "").lower(), 0)

    def _sources(self, info: ClassInfo) -> list[list[Event]]:
        activity, registration = self._keys(info)
        return [self.by_object.get(activity, []), self.by_registration.get(registration, [])]

    def _moves(self, info: ClassInfo) -> list[Event]:
        """Joins and leaves on the class's virtual class, by time (worked out once per room)."""
        keys = self._keys(info)
        found = self._room_moves.get(keys)
        if found is None:
            found = self._room_moves[keys] = sorted(
                {e for events in self._sources(info) for e in events if e.kind in OPENS or e.kind in CLOSES},
                key=lambda e: (e.at, e.kind),
            )
        return found

    def events(self, info: ClassInfo, since: int, until: int) -> list[Event]:
        """Meeting events of the class in [since, until), by time."""
        found: list[Event] = []
        for events in self._sources(info):
            low = bisect.bisect_left(events, since, key=lambda e: e.at)
            high = bisect.bisect_left(events, until, key=lambda e: e.at)
            found.extend(events[low:high])
        return sorted(set(found), key=lambda e: (e.at, e.kind))

    def carried_in(self, info: ClassInfo, window_start: int) -> int | None:
        """When the person joined, if they were still in the class's virtual class as its window opened: the
        latest join or leave before the window is a join, and a leave follows it (they stayed, e.g. from the
        class before in the same room), or no leave follows it but it came after the previous class there
        ended and no login came since (an early join whose leave is missing). None otherwise."""
        moves = self._moves(info)
        position = bisect.bisect_left(moves, window_start, key=lambda e: e.at)
        if position == 0 or moves[position - 1].kind not in OPENS:
            return None
        joined = moves[position - 1].at
        if position < len(moves) and moves[position].kind in CLOSES:
            return joined
        early = info.previous_end is None or joined >= info.previous_end
        return joined if early and not self.logins_between(joined, window_start) else None

    def logins_between(self, since: int, until: int) -> list[int]:
        return self.logins[bisect.bisect_left(self.logins, since) : bisect.bisect_left(self.logins, until)]


def learner_class(timeline: Timeline, info: ClassInfo) -> ClassAttendance:
    """A learner's attendance of one class, from the learner's timeline."""
    window = timeline.events(info, info.start - EARLY_JOIN_S, info.end + ATTENDED_AFTER_S)
    moves = [
        e
        for e in window
        if (e.kind in OPENS and e.at < info.end) or (e.kind in CLOSES and e.at < info.end + LEAVE_AFTER_S)
    ]
    moves += [Event(at, int(Kind.LOGIN), NO_FLAG, NO_FLAG) for at in timeline.logins_between(info.start, info.end)]
    moves.sort(key=lambda e: (e.at, e.kind))
    first_join = timeline.carried_in(info, info.start - EARLY_JOIN_S)
    present_s, last_end, inferred = 0, None, False
    open_at = None if first_join is None else info.start
    for event in moves:
        if event.kind in OPENS:
            first_join = event.at if first_join is None else first_join
            open_at = max(event.at, info.start) if open_at is None else open_at
        elif open_at is not None:
            close = min(event.at, info.end)
            if close > open_at:
                present_s, last_end = present_s + close - open_at, close
            open_at, inferred = None, event.kind == Kind.LOGIN
    if open_at is not None:
        present_s, last_end, inferred = present_s + info.end - open_at, info.end, True
    status, source = "absent", "none"
    if present_s > 0 and first_join is not None and last_end is not None:
        source = "meeting"
        if first_join > info.start + LATE_AFTER_S:
            status = "late"
        elif last_end < info.end - EARLY_LEAVE_S:
            status = "left_early"
        else:
            status = "present"
    records = [e for e in window if e.kind == Kind.ATTENDED]
    if records:
        source = "attended"
        last = records[-1]
        status = "absent" if last.completion == 0 else ("late" if last.late == 1 else "present")
        if status != "absent" and present_s == 0:
            present_s = info.end - info.start
    return ClassAttendance(
        class_id=info.id,
        discipline=info.discipline.code,
        start=iso(info.start),
        status=status,
        minutes_present=round(present_s / 60, 1),
        first_join=iso(first_join),
        presence_end=iso(last_end),
        end_inferred=inferred and source == "meeting",
        source=source,
    )


def teacher_class(timeline: Timeline, info: ClassInfo) -> ClassHeld:
    """Whether the teacher (whose timeline this is) joined the class, and on time."""
    joins = [e.at for e in timeline.events(info, info.start - EARLY_JOIN_S, info.end) if e.kind in OPENS]
    carried = timeline.carried_in(info, info.start - EARLY_JOIN_S)
    first = carried if carried is not None else (min(joins) if joins else None)
    return ClassHeld(
        class_id=info.id,
        group=info.session.group,
        discipline=info.discipline.code,
        start=iso(info.start),
        held=first is not None,
        on_time=first is not None and first <= info.start + TEACHER_ON_TIME_S,
        first_join=iso(first),
    )


def attendance_counts(classes: list[ClassAttendance]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for item in classes:
        counts[item.status] += 1
    return counts
