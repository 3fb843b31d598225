"""Room-scan events: requested, completed, incomplete (coverage short or out of time), person in room.

Only `room_scan_incomplete` and `person_in_room` count toward the score (the vocabulary says so); the
other two are facts for the record. With retries, an attempt that failed and was then repeated
successfully is not held against the candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

from proctor.events.event import Event, Measurement, Severity
from proctor.events.vocabulary import EventType
from proctor.roomscan.analyzer import PersonInRoom, ScanReport
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.schedule import ScanRequest

HALF_TURN = 180.0


def scan_events(report: ScanReport, config: RoomScanConfig, requested_at_s: float | None = None) -> list[Event]:
    """Events of one scan window taken as a single, final attempt (offline `--scan`, `proctor scan`)."""
    at = report.start_s if requested_at_s is None else requested_at_s
    events = [_requested(at, at, {"min_coverage_deg": config.min_coverage_deg})]
    events.append(_outcome(report, attempt=1))
    events.extend(_person(person, report) for person in report.persons)
    return events


def request_events(request: ScanRequest, attempts: Sequence[ScanReport]) -> list[Event]:
    """Events of one scheduled request from the reports of its attempts (first, then retries).

    The first complete attempt makes `room_scan_completed`; if none is complete, the last attempt is
    `room_scan_incomplete` (or, with no attempt at all, the whole window is). People seen in any attempt
    are reported.
    """
    used = list(attempts[: request.attempts])
    events = [
        _requested(
            request.at_s,
            request.at_s,
            {"kind": request.kind.value, "number": request.number, "min_coverage_deg": request.min_coverage_deg},
        )
    ]
    done = next((k for k, report in enumerate(used) if report.complete), None)
    if done is not None:
        events.append(_outcome(used[done], attempt=done + 1))
    elif used:
        events.append(_outcome(used[-1], attempt=len(used)))
    else:
        events.append(
            Event(
                type=EventType.ROOM_SCAN_INCOMPLETE,
                start_s=request.at_s,
                end_s=request.at_s + request.time_limit_s,
                severity=Severity.HIGH,
                confidence=1.0,
                peak_s=request.at_s,
                measurements={"reason": "not_done", "coverage_deg": 0.0, "attempts": 0},
            )
        )
    for report in used:
        events.extend(_person(person, report) for person in report.persons)
    return sorted(events, key=lambda e: (e.start_s, e.type is not EventType.ROOM_SCAN_REQUESTED))


def _requested(start_s: float, end_s: float, measurements: dict[str, Measurement]) -> Event:
    return Event(
        type=EventType.ROOM_SCAN_REQUESTED,
        start_s=start_s,
        end_s=end_s,
        severity=Severity.INFO,
        confidence=1.0,
        peak_s=start_s,
        measurements=measurements,
    )


def _outcome(report: ScanReport, attempt: int) -> Event:
    quality = report.quality
    measurements: dict[str, Measurement] = {
        "coverage_deg": round(report.coverage_deg, 1),
        "largest_gap_deg": round(report.largest_gap_deg, 1),
        "min_coverage_deg": report.min_coverage_deg,
        "duration_s": round(report.duration_s, 2),
        "mean_speed_deg_s": round(quality.mean_speed_deg_s, 1),
        "quality_flags": ",".join(quality.flags),
        "attempt": attempt,
    }
    if report.complete:
        return Event(
            type=EventType.ROOM_SCAN_COMPLETED,
            start_s=report.start_s,
            end_s=report.end_s,
            severity=Severity.INFO,
            confidence=1.0 - quality.lost_fraction,
            peak_s=report.completed_at_s if report.completed_at_s is not None else report.end_s,
            measurements=measurements,
        )
    measurements["reason"] = "timeout" if report.timed_out else "coverage"
    return Event(
        type=EventType.ROOM_SCAN_INCOMPLETE,
        start_s=report.start_s,
        end_s=report.end_s,
        severity=Severity.HIGH if report.coverage_deg < HALF_TURN else Severity.MEDIUM,
        # lost tracking can only under-estimate coverage: the less was tracked, the less sure the verdict
        confidence=max(0.0, 1.0 - quality.lost_fraction),
        peak_s=report.end_s,
        measurements=measurements,
    )


def _person(person: PersonInRoom, report: ScanReport) -> Event:
    sighting = person.sighting
    return Event(
        type=EventType.PERSON_IN_ROOM,
        start_s=sighting.start_s,
        end_s=sighting.end_s,
        severity=Severity.HIGH,
        confidence=min(1.0, max(0.0, sighting.score)),
        peak_s=sighting.peak_s,
        measurements={
            "yaw_deg": round(person.yaw_deg, 1),
            "source": sighting.source,
            "detections": sighting.detections,
            "scan_start_s": round(report.start_s, 3),
        },
        evidence_image=sighting.evidence_image,
    )
