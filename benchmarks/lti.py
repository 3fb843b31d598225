"""LTI benchmark: prints JSON figures for launches and the roster, served by the real app on SQLite against the
LMS emulator of the tests (tests/lti/platform.py, a real HTTP server on loopback):

- a launch's server time: the tool's answer to the login initiation plus its answer to the posted id_token plus
  the student page's first screen (the LMS's own page in between is not the tool's time), median and p95, for a
  learner's first launch (candidate and session made) and for a returning one;
- the roster sync of a course of N learners into an exam's candidates (first sync: all added; second: unchanged).

    python -m benchmarks.lti [--launches 40] [--learners 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from proctor.nativelog import quiet_native_noise
from tests.lti.flows import BASE, platform_answer
from tests.lti.platform import INSTRUCTOR, LEARNER, Member, PlatformEmulator
from tests.lti.test_lti import add_exam, auth, register
from web.app import create_app
from web.settings import load_settings

KEY = "lti-test-demo-college-key-0123"


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def one_launch(client: TestClient, lms: PlatformEmulator, member: Member, custom: dict[str, str]) -> float:
    """The tool's server time of one launch (its three answers), without the LMS's page in between."""
    params = lms.login_params(member, target_link_uri=f"{BASE}/lti/launch", custom=custom)
    start = time.perf_counter()
    started = client.post("/lti/login", data=params, follow_redirects=False)
    spent = time.perf_counter() - start
    answer = platform_answer(started)
    start = time.perf_counter()
    entered = client.post("/lti/launch", data=answer.fields, follow_redirects=False)
    page = client.get(entered.headers["location"])
    spent += time.perf_counter() - start
    if page.status_code != 200:
        raise RuntimeError(f"the launch did not open the exam page: {page.status_code}")
    return spent


def main() -> None:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launches", type=int, default=40, help="learners launching (each twice)")
    parser.add_argument("--learners", type=int, default=500, help="learners in the course roster")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder, PlatformEmulator("Moodle A", client_id="tool-a") as lms:
        settings = load_settings(
            {"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"},
            data_dir=Path(folder) / "data",
            bootstrap_api_key=KEY,
            public_url=BASE,
            log_level="WARNING",
        )
        with TestClient(create_app(settings), base_url=BASE) as client:
            register(client, lms)
            teacher = Member("2", "Aigul", "Sadykova", "aigul@college.kz", [INSTRUCTOR])
            exam_id, custom = add_exam(client, lms, teacher, "Benchmark final")
            learners = [
                Member(str(100 + n), f"Learner{n}", "Test", f"l{n}@college.kz", [LEARNER]) for n in range(args.launches)
            ]
            one_launch(client, lms, learners[0], custom)  # the LMS's keyset fetched once (then cached)
            first = [one_launch(client, lms, member, custom) for member in learners[1:]]
            returning = [one_launch(client, lms, member, custom) for member in learners[1:]]
            lms.members = [
                Member(
                    str(10_000 + n),
                    f"Student{n}",
                    "Roster",
                    f"s{n}@college.kz",
                    [LEARNER],
                    person_sourcedid=f"ID{n:06d}",
                )
                for n in range(args.learners)
            ]
            start = time.perf_counter()
            report = client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth()).json()
            first_sync = time.perf_counter() - start
            start = time.perf_counter()
            again = client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth()).json()
            second_sync = time.perf_counter() - start
    result: dict[str, Any] = {
        "launch_first": summary(first),
        "launch_returning": summary(returning),
        "launches": len(first),
        "roster": {
            "learners": args.learners,
            "first_sync_s": round(first_sync, 2),
            "added": report["added"],
            "second_sync_s": round(second_sync, 2),
            "second_added": again["added"],
        },
        "targets": {"launch_ms": 300, "roster_500_s": 5},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
