"""LRS benchmark: prints JSON figures for the xAPI store on SQLite.

- ingest: statements/s of batches of 100 through the store (validation, idempotency check, key
  rows, ledger append, commit), and through HTTP POST /xapi/statements (in-process ASGI client);
- query: latency of "newest page of one agent's statements" over 10^6 statements, in the store
  and over HTTP. The big database is built once with a bulk path (direct inserts of the same rows
  the store writes, without the ledger) and cached under .cache/bench/.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from footprint.accounts import create_college
from footprint.ledger import Ledger, generate_signer
from footprint.store import make_engine, make_session_factory, migrate
from footprint.xapi.canonical import agent_key
from footprint.xapi.queries import StatementQuery, query_statements
from footprint.xapi.statements import format_stored, prepare, store_statements
from proctor.nativelog import quiet_native_noise
from web.app import create_app
from web.settings import Settings

CACHE = Path(".cache/bench")
BIG_ROWS = int(os.environ.get("BENCH_LRS_ROWS", "1000000"))
AGENTS = 10_000
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "benchmark-key-0123456789abcdef"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://proctor.kz/credentials/bench", "name": "bench"}}
COLLEGE = "00000000-0000-4000-8000-00000000be9c"
"""The college of the benchmark's statements; named as the bootstrap key's college so HTTP queries reach them."""
COLLEGE_NAME = "Demo College"


def make_statement(i: int, agents: int = AGENTS) -> dict[str, Any]:
    """A realistic exam statement: agent, verb, activity with a definition, context and result."""
    return {
        "actor": {"objectType": "Agent", "name": f"Student {i % agents}", "mbox": f"mailto:s{i % agents}@college.kz"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {
            "id": f"https://proctor.kz/exams/{i % 50}/questions/{i % 40}",
            "definition": {
                "name": {"en-US": f"Question {i % 40}"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            },
        },
        "result": {"success": i % 3 != 0, "score": {"scaled": (i % 10) / 10}, "duration": "PT42S"},
        "context": {
            "registration": str(uuid.UUID(int=i % 5000)),
            "contextActivities": {"parent": [{"id": f"https://proctor.kz/exams/{i % 50}"}]},
        },
        "timestamp": "2026-05-01T10:00:00.000Z",
    }


def bench_store_ingest(total: int = 10_000, batch: int = 100) -> dict[str, float]:
    """Statements/s through `store_statements` on a fresh SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/ingest.db")
        migrate(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            college = create_college(session, COLLEGE_NAME)
        ledger = Ledger("bench.proctor.kz", generate_signer("bench.proctor.kz"))
        statements = [make_statement(i) for i in range(total)]
        start = time.perf_counter()
        for offset in range(0, total, batch):
            with sessions() as session, session.begin():
                store_statements(
                    session,
                    ledger,
                    statements[offset : offset + batch],
                    college_id=college,
                    authority=AUTHORITY,
                    version="1.0.3",
                )
        elapsed = time.perf_counter() - start
        engine.dispose()
    return {"statements": total, "seconds": round(elapsed, 2), "statements_per_s": round(total / elapsed)}


def bench_http_ingest(total: int = 5_000, batch: int = 100) -> dict[str, float]:
    """Statements/s through POST /xapi/statements (JSON batches of 100, in-process ASGI client)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), bootstrap_api_key=KEY, log_level="WARNING")
        headers = {"Authorization": f"Bearer {KEY}", "X-Experience-API-Version": "1.0.3"}
        bodies = [
            json.dumps([make_statement(i) for i in range(offset, offset + batch)]).encode()
            for offset in range(0, total, batch)
        ]
        with TestClient(create_app(settings), headers=headers) as client:
            start = time.perf_counter()
            for body in bodies:
                response = client.post("/xapi/statements", content=body, headers={"Content-Type": "application/json"})
                response.raise_for_status()
            elapsed = time.perf_counter() - start
    return {"statements": total, "seconds": round(elapsed, 2), "statements_per_s": round(total / elapsed)}


def build_big_db(path: Path, rows: int) -> None:
    """Bulk-load `rows` statements with the store's own row preparation (keys included), no ledger."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    migrate(f"sqlite:///{tmp}")
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "INSERT INTO colleges (id, name, created_at) VALUES (?, ?, ?)",
        (COLLEGE, COLLEGE_NAME, EPOCH.isoformat()),
    )
    start = time.perf_counter()
    chunk = 10_000
    for offset in range(0, rows, chunk):
        statement_rows, key_rows = [], []
        for i in range(offset, min(rows, offset + chunk)):
            stored = format_stored(EPOCH + timedelta(seconds=i))
            prepared = prepare(make_statement(i), authority=AUTHORITY, version="1.0.3", stored=stored)
            payload = json.dumps(prepared.statement, separators=(",", ":"))
            statement_rows.append((i + 1, COLLEGE, prepared.id, stored, None, payload, i))
            key_rows += [(COLLEGE, key, i + 1, relation) for key, relation in prepared.keys.items()]
        db.executemany(
            "INSERT INTO xapi_statements (seq, college_id, statement_id, stored, voids, payload, ledger_index) "
            "VALUES (?,?,?,?,?,?,?)",
            statement_rows,
        )
        db.executemany("INSERT INTO xapi_statement_keys (college_id, key, seq, relation) VALUES (?,?,?,?)", key_rows)
        db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()
    tmp.rename(path)
    logging.getLogger(__name__).info("built %s (%d statements) in %.0f s", path, rows, time.perf_counter() - start)


def bench_query(path: Path, samples: int = 200) -> dict[str, Any]:
    """Latency of the newest page (limit 100) of one agent's statements, in the store and over HTTP."""
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_session_factory(engine)
    rng = random.Random(7)
    agents = [rng.randrange(AGENTS) for _ in range(samples)]
    cold_ms: list[float] = []
    store_ms: list[float] = []
    with sessions() as session:
        for timings in (cold_ms, store_ms):  # first pass reads pages from disk, second from the cache
            for n in agents:
                key = agent_key({"mbox": f"mailto:s{n}@college.kz"})
                start = time.perf_counter()
                page = query_statements(session, COLLEGE, StatementQuery(agent_key=key, limit=100))
                timings.append((time.perf_counter() - start) * 1000)
                if len(page.statements) != 100:
                    raise RuntimeError(f"agent s{n} has {len(page.statements)} statements, expected 100")
    engine.dispose()
    http_ms: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), database_url=f"sqlite:///{path}", bootstrap_api_key=KEY, log_level="WARNING"
        )
        headers = {"Authorization": f"Bearer {KEY}", "X-Experience-API-Version": "1.0.3"}
        with TestClient(create_app(settings), headers=headers) as client:
            for n in agents:
                agent = json.dumps({"mbox": f"mailto:s{n}@college.kz"})
                start = time.perf_counter()
                response = client.get("/xapi/statements", params={"agent": agent, "limit": 100})
                http_ms.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
    return {
        "statements": BIG_ROWS,
        "agents": AGENTS,
        "page": 100,
        "store_cold_ms_median": round(statistics.median(cold_ms), 2),
        "store_cold_ms_p95": round(sorted(cold_ms)[int(0.95 * len(cold_ms))], 2),
        "store_ms_median": round(statistics.median(store_ms), 2),
        "store_ms_p95": round(sorted(store_ms)[int(0.95 * len(store_ms))], 2),
        "http_ms_median": round(statistics.median(http_ms), 2),
        "http_ms_p95": round(sorted(http_ms)[int(0.95 * len(http_ms))], 2),
    }


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda run: run["statements_per_s"])[len(runs) // 2]


def main() -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, Any] = {"cpu_count": os.cpu_count()}
    # the machine may be shared: report the median of three runs, and every run
    store_runs = [bench_store_ingest() for _ in range(3)]
    http_runs = [bench_http_ingest() for _ in range(3)]
    figures["ingest_store"] = {**_median_run(store_runs), "runs_per_s": [r["statements_per_s"] for r in store_runs]}
    figures["ingest_http"] = {**_median_run(http_runs), "runs_per_s": [r["statements_per_s"] for r in http_runs]}
    CACHE.mkdir(parents=True, exist_ok=True)
    big = CACHE / f"lrs-v2-{BIG_ROWS}.db"  # v2: statements and keys carry their college
    if not big.exists():
        build_big_db(big, BIG_ROWS)
    figures["query_by_agent"] = bench_query(big)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
