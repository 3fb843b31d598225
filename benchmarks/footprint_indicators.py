"""Footprint indicators benchmark: prints JSON figures for a generated semester of 500 learners (≈ 1 M statements).

- build (once, cached under .cache/bench/): the generated college's catalogue and statements fed through the
  platform's HTTP API (in-process ASGI client), exactly as the demo and the tests feed theirs;
- all indicators and every compliance report (each programme and group, the weather day) from a cold start
  at one checkpoint: facts loaded from the database, then computed (target ≤ 10 s);
- one learner's page: `GET /api/v1/footprint/learners/{id}` at that checkpoint, which reads only that
  learner's facts, and the desk's page of the learner (timeline, tables) — target ≤ 200 ms.

`--learners N` sizes the semester (a different size is another cached database).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from footprint import reports
from footprint.accounts import bootstrap
from footprint.facts.tables import FactRow
from footprint.people import Role, UserRow, add_person
from footprint.semester.college import build_college
from footprint.semester.feed import feed
from footprint.semester.plan import SemesterPlan
from proctor.nativelog import quiet_native_noise
from web.app import create_app
from web.footprint_demo import proctoring_sink
from web.services import build_services
from web.settings import Settings

CACHE = Path(".cache/bench")
KEY = "benchmark-footprint-key-0123456789"
ADMIN = "admin@bench.kz"
SAMPLES = 3
LEARNER_SAMPLES = 30


def _settings(folder: Path) -> Settings:
    return Settings(data_dir=folder, bootstrap_api_key=KEY, checkpoint_interval_s=86400, log_level="WARNING")


def build(folder: Path, plan: SemesterPlan) -> dict[str, Any]:
    """Feed the semester through HTTP into a fresh data folder, renamed into place when complete."""
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    settings = _settings(staging)
    start = time.perf_counter()
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as client:
        services = build_services(settings)
        try:
            with services.writing() as db:
                credential = bootstrap(db, KEY)
            assert credential is not None
            sink = proctoring_sink(services, credential.college_id)
            fed = feed(client, build_college(plan), credential.college_id, sink, batch=500)
        finally:
            services.engine.dispose()
        client.get("/ledger/checkpoint")  # sign the checkpoint the figures are computed at
    staging.rename(folder)
    seconds = time.perf_counter() - start
    return {
        "statements": fed.statements,
        "seconds": round(seconds, 1),
        "statements_per_s": round(fed.statements / seconds),
    }


def measure(folder: Path) -> dict[str, Any]:
    settings = _settings(folder)
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
            assert credential is not None
            college = credential.college_id
            size = services.ledger.size(db)
            facts_rows = int(db.scalar(select(func.count()).select_from(FactRow)) or 0)
            where = reports.basis(db, services.ledger, college, size, None, None)
        runs: list[dict[str, float]] = []
        for _ in range(SAMPLES):
            reports.CACHE.clear()  # cold: nothing computed before
            with services.sessions() as db:
                begun = time.perf_counter()
                computed = reports.compute(db, where)
                indicators = time.perf_counter()
                for programme in computed.index.programmes:
                    reports.compliance(computed, "programme", programme)
                for group in computed.index.groups:
                    reports.compliance(computed, "group", group)
                if computed.index.catalogue.episodes:
                    weather = min(e.start for e in computed.index.catalogue.episodes if e.ground == "weather")
                    reports.weather(computed, weather.astimezone(computed.index.zone).date())
                done = time.perf_counter()
            runs.append(
                {"indicators_s": indicators - begun, "compliance_s": done - indicators, "total_s": done - begun}
            )
        learners = sorted(computed.index.learners)[:: max(1, len(computed.index.learners) // LEARNER_SAMPLES)]
    finally:
        services.engine.dispose()
    timings = _learner_pages(settings, learners, size)
    best = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
    return {
        "tree_size": size,
        "facts": facts_rows,
        "learners": len(computed.index.learners),
        "groups": len(computed.index.groups),
        "classes": len(computed.index.classes),
        "all_indicators_and_compliance_s": round(best["total_s"], 2),
        "of_which_indicators_s": round(best["indicators_s"], 2),
        "of_which_compliance_s": round(best["compliance_s"], 2),
        "runs_s": [round(r["total_s"], 2) for r in runs],
        **timings,
    }


def _sign_in(client: TestClient, settings: Settings) -> None:
    """Sign the client in to the desk as the college's admin (created once in the cached database)."""
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
            assert credential is not None
            if db.scalar(select(UserRow.id).where(UserRow.email == ADMIN)) is None:
                add_person(db, credential.college_id, ADMIN, "Benchmark Admin", Role.ADMIN, KEY)
    finally:
        services.engine.dispose()
    form = client.get("/desk/login", headers={"Accept": "text/html"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post(
        "/desk/login", data={"email": ADMIN, "password": KEY, "csrf_token": token.group(1)}, follow_redirects=False
    )
    if answer.status_code != 303:  # signed in: the desk answers with a redirect to its first page
        raise RuntimeError(f"desk sign-in refused: {answer.status_code}")


def _timed(client: TestClient, paths: list[str], params: dict[str, Any], headers: dict[str, str]) -> list[float]:
    found = []
    for path in paths:
        begun = time.perf_counter()
        response = client.get(path, params=params, headers=headers)
        found.append((time.perf_counter() - begun) * 1000)
        response.raise_for_status()
    return found


def _stats(name: str, values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        f"{name}_ms_median": round(statistics.median(values), 1),
        f"{name}_ms_p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def _learner_pages(settings: Settings, learners: list[str], size: int) -> dict[str, Any]:
    """One learner's figures over the API and the desk's page of the learner, at the benchmark's checkpoint."""
    with TestClient(create_app(settings)) as client:
        api = _timed(
            client,
            [f"/api/v1/footprint/learners/{x}" for x in learners],
            {"treeSize": size},
            {"Authorization": f"Bearer {KEY}"},
        )
        _sign_in(client, settings)
        pages = _timed(
            client, [f"/desk/footprint/learners/{x}" for x in learners], {"treeSize": size}, {"Accept": "text/html"}
        )
    return {**_stats("learner_api", api), **_stats("learner_page", pages), "learner_samples": len(api)}


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=500)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    plan = SemesterPlan(learners=args.learners)
    folder = CACHE / f"footprint-indicators-v2-{args.learners}"  # v2: attestations through the platform's sink
    figures: dict[str, Any] = {"cpu_count": os.cpu_count(), "learners": args.learners}
    if not folder.exists():
        figures["build"] = build(folder, plan)
    figures.update(measure(folder))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
