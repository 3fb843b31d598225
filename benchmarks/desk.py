"""Examiner desk benchmark: prints JSON figures for a 90-minute session with 300 events (real evidence pictures,
an identity check every 5 s, decisions on a third of the events), served by the real app on SQLite:

- the session page's server side (events, strip, identity, score; HTML rendered), median and p95 over runs;
- its data alone (`session_view`, the database part);
- the event thumbnails: made on first request (cold) and then served from storage (cached);
- the protocol PDF (every event with its picture, every decision with its inclusion proof).

    python -m benchmarks.desk [--events 300] [--minutes 90] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from footprint.accounts import bootstrap
from footprint.people import Role, add_person
from proctor.events.vocabulary import EventType
from proctor.nativelog import quiet_native_noise
from proctor.review.access import Reviewer
from proctor.review.decisions import Decisions, ReviewAction
from proctor.review.session_view import session_view
from proctor.sessions.tables import EventRow, ExamExaminerRow, SessionRow, utcnow
from tests.desk.desk_client import HTML, sign_in
from tests.desk.world import PASSWORD
from tests.fixtures.fetch import fetch_all
from tests.fixtures.scenarios import build_demo
from web.app import create_app
from web.platform import build_session_service
from web.services import build_services
from web.settings import load_settings

KEY = "desk-benchmark-key-0123456789"
TYPES = (
    (EventType.LOOKING_AWAY, 0.35),
    (EventType.FACE_ABSENT, 0.15),
    (EventType.SPEECH_DETECTED, 0.15),
    (EventType.BODY_MOVEMENT, 0.1),
    (EventType.NOISE_HIGH, 0.08),
    (EventType.MULTIPLE_FACES, 0.05),
    (EventType.TAB_HIDDEN, 0.05),
    (EventType.LOW_LIGHT, 0.04),
    (EventType.VIDEO_LOST, 0.03),
)


def timed(call: Any, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
    }


@dataclass(frozen=True)
class Built:
    session_id: str
    reviewer: Reviewer


def build(data: Path, events: int, minutes: int) -> Built:
    """A long session with `events` events whose evidence is real (frames of the demo's analysis)."""
    media = fetch_all()
    demo = build_demo(data.parent / "demo")
    settings = load_settings({}, data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING")
    services = build_services(settings)
    service = build_session_service(services)
    with services.writing() as db:
        credential = bootstrap(db, KEY)
        assert credential is not None
        college = credential.college_id
        person = add_person(db, college, "examiner@bench.kz", "Ольга Смирнова", Role.EXAMINER, PASSWORD)
    exam = service.create_exam(college, "Қорытынды аттестация", "final", None, duration_min=minutes)
    with services.writing() as db:
        db.add(ExamExaminerRow(exam_id=exam.id, user_id=person.id))
    candidate = service.add_candidate(college, exam.id, "S-1", "Айгерім Нұрланқызы", demo.reference.read_bytes())
    row, _ = service.create_session(college, exam.id, candidate.id)
    pictures = [demo.reference.read_bytes(), *((media / name).read_bytes() for name in ("obama.jpg", "biden.jpg"))]
    duration = minutes * 60.0
    rng = random.Random(7)
    kinds = [t for t, _ in TYPES]
    weights = [w for _, w in TYPES]
    starts = sorted(rng.uniform(0, duration - 30) for _ in range(events))
    with services.writing() as db:
        session = db.get(SessionRow, row.id)
        assert session is not None
        session.status, session.job_state, session.analysis_run, session.score = "analysed", "done", 1, 37.5
        checks = [
            {"at_s": t, "distance": round(rng.uniform(0.2, 0.7), 3), "match": True} for t in range(0, int(duration), 5)
        ]
        session.report = {
            "analysed_duration_s": duration,
            "identity_checks": checks,
            "score": {"total": 37.5, "contributions": []},
        }
        session.analysed_at = utcnow()
        for seq, start in enumerate(starts):
            kind = rng.choices(kinds, weights)[0]
            key = service.store.put_bytes(
                f"{college}/{exam.id}/{row.id}/run1/evidence/{seq:04d}.jpg", pictures[seq % len(pictures)]
            )
            db.add(
                EventRow(
                    session_id=row.id,
                    analysis_run=1,
                    seq=seq,
                    type=kind.value,
                    start_s=start,
                    end_s=start + rng.uniform(1, 25),
                    severity=rng.choice(["low", "medium", "high"]),
                    confidence=round(rng.uniform(0.5, 0.99), 3),
                    technical=kind in (EventType.LOW_LIGHT, EventType.VIDEO_LOST),
                    peak_s=start + 0.5,
                    measurements={"yaw_deg": 31.5, "faces": 1},
                    evidence_key=key,
                    state="closed",
                )
            )
    reviewer = Reviewer.of(person)
    decisions = Decisions(service)
    for seq in range(0, events, 3):
        decisions.review_event(reviewer, row.id, seq, ReviewAction.CONFIRMED if seq % 2 else ReviewAction.DISMISSED)
    decisions.verdict(reviewer, row.id, "confirmed", "")
    services.engine.dispose()
    return Built(row.id, reviewer)


def main() -> None:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=90)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        made = build(data, args.events, args.minutes)
        settings = load_settings(
            {}, data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING"
        )
        with TestClient(create_app(settings)) as client:
            sign_in(client, made.reviewer.email)
            url = f"/desk/sessions/{made.session_id}"
            page = client.get(url, headers=HTML)
            assert page.status_code == 200
            listed = len(re.findall(r'data-event-id="', page.text))
            figures: dict[str, Any] = {
                "events": listed,
                "minutes": args.minutes,
                "html_kb": round(len(page.content) / 1024),
            }
            figures["session_page"] = timed(lambda: client.get(url, headers=HTML), args.runs)
            services = client.app_state["services"]
            with services.sessions() as db:
                figures["session_data"] = timed(lambda: session_view(db, made.reviewer, made.session_id), args.runs)
            thumbs = [f"{url}/events/{seq}/thumb" for seq in range(args.events)]
            start = time.perf_counter()
            sizes = [len(client.get(t).content) for t in thumbs]
            cold = (time.perf_counter() - start) * 1000 / len(thumbs)
            start = time.perf_counter()
            for t in thumbs:
                client.get(t)
            warm = (time.perf_counter() - start) * 1000 / len(thumbs)
            figures["thumbnail"] = {
                "cold_ms": round(cold, 1),
                "cached_ms": round(warm, 1),
                "mean_kb": round(statistics.mean(sizes) / 1024, 1),
            }
            start = time.perf_counter()
            pdf = client.get(f"{url}/protocol.pdf")
            figures["protocol_pdf"] = {
                "seconds": round(time.perf_counter() - start, 2),
                "kb": round(len(pdf.content) / 1024),
            }
            assert pdf.status_code == 200
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
