"""Ledger benchmark: append throughput, and proof store/verify time and size at a million entries.

Prints one JSON object. Appends go through `Ledger.append_many` in batches of 100 (one transaction each,
as the xAPI store does) into an SQLite file; the million-entry tree is then grown with the same call in
batches of 10,000 compact records (proofs read only the node table, so record size does not change them).
Run: `python -m benchmarks.ledger [--entries 1000000]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from footprint.audit import audit
from footprint.ledger import Ledger, Record, generate_signer
from footprint.ledger.merkle import verify_consistency, verify_inclusion
from footprint.store import make_engine, make_session_factory, migrate
from proctor.nativelog import quiet_native_noise

logger = logging.getLogger(__name__)
ORIGIN = "bench.footprint.kz/ledger"


def statement(i: int) -> dict[str, Any]:
    """An xAPI-shaped statement of realistic size (~400 bytes canonical)."""
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://college.example.kz", "name": f"student-{i % 5000}"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"id": f"https://college.example.kz/courses/{i % 300}/exam", "objectType": "Activity"},
        "result": {"score": {"scaled": (i % 100) / 100}, "completion": True, "success": i % 7 != 0},
        "timestamp": "2026-11-22T07:00:00.000Z",
    }


def records(start: int, count: int, compact: bool = False) -> list[Record]:
    if compact:  # the bulk part: proofs read only the node table, so record size does not matter to them
        return [Record("bench.record", f"r{i}", {"id": f"r{i}"}) for i in range(start, start + count)]
    return [Record("xapi.statement", f"s{i}", statement(i)) for i in range(start, start + count)]


def timed_batches(
    sessions: sessionmaker[Session], ledger: Ledger, start: int, total: int, batch: int, compact: bool = False
) -> float:
    """Seconds spent appending `total` records in transactions of `batch` (building records not counted)."""
    spent = 0.0
    for offset in range(start, start + total, batch):
        prepared = records(offset, min(batch, start + total - offset), compact)
        began = time.perf_counter()
        with sessions.begin() as session:
            ledger.append_many(session, prepared)
        spent += time.perf_counter() - began
    return spent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proofs(sessions: sessionmaker[Session], ledger: Ledger, size: int, samples: int) -> dict[str, Any]:
    rng = random.Random(7)
    store_ms: list[float] = []
    verify_ms: list[float] = []
    consistency_ms: list[float] = []
    path_lengths: set[int] = set()
    with sessions() as session:
        root = ledger.root(session)
        leaves = {i: e.leaf_hash for i in rng.sample(range(size), samples) if (e := ledger.entry_at(session, i))}
        for index, leaf in leaves.items():
            began = time.perf_counter()
            proof = ledger.inclusion_proof(session, index)
            store_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            verify_inclusion(proof, leaf, root)
            verify_ms.append((time.perf_counter() - began) * 1000)
            path_lengths.add(len(proof.audit_path))
        for first in rng.sample(range(1, size), min(samples, 200)):
            began = time.perf_counter()
            consistency = ledger.consistency_proof(session, first, size)
            consistency_ms.append((time.perf_counter() - began) * 1000)
            verify_consistency(consistency, ledger.root(session, first), root)
    return {
        "inclusion_store_ms": {
            "mean": statistics.fmean(store_ms),
            "p50": percentile(store_ms, 0.5),
            "p99": percentile(store_ms, 0.99),
        },
        "inclusion_verify_ms": {"mean": statistics.fmean(verify_ms), "p99": percentile(verify_ms, 0.99)},
        "consistency_store_ms": {"mean": statistics.fmean(consistency_ms), "p99": percentile(consistency_ms, 0.99)},
        "proof_hashes_max": max(path_lengths),
        "proof_hashes_bound": math.ceil(math.log2(size)),
        "proof_bytes_max": 32 * max(path_lengths),
        "samples": len(store_ms),
    }


def main() -> None:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000, help="size of the tree the proofs are timed on")
    parser.add_argument("--throughput", type=int, default=20_000, help="statements appended in batches of 100")
    parser.add_argument("--samples", type=int, default=1000, help="proofs timed")
    parser.add_argument("--url", help="an empty database to use instead of a temporary SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ledger = Ledger(ORIGIN, generate_signer(ORIGIN))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        sessions = make_session_factory(engine)
        spent = timed_batches(sessions, ledger, 0, args.throughput, 100)
        logger.info("appended %d in batches of 100: %.0f/s", args.throughput, args.throughput / spent)
        began = time.perf_counter()
        bulk = max(0, args.entries - args.throughput)
        bulk_spent = timed_batches(sessions, ledger, args.throughput, bulk, 10_000, compact=True)
        logger.info("grew to %d entries in %.1f s", args.entries, time.perf_counter() - began)
        with sessions.begin() as session:
            began = time.perf_counter()
            ledger.checkpoint(session)
            checkpoint_ms = (time.perf_counter() - began) * 1000
        with sessions() as session:
            began = time.perf_counter()
            report = audit(session)
            audit_s = time.perf_counter() - began
        figures = {
            "backend": engine.dialect.name,
            "append_batch": 100,
            "append_statements": args.throughput,
            "append_per_s": round(args.throughput / spent),
            "bulk_append_per_s": round(bulk / bulk_spent) if bulk else None,
            "entries": args.entries,
            "database_mb": round((Path(tmp) / "bench.db").stat().st_size / 2**20, 1) if not args.url else None,
            "checkpoint_ms": round(checkpoint_ms, 3),
            **proofs(sessions, ledger, args.entries, args.samples),
            "audit_s": round(audit_s, 2),
            "audit_clean": report.clean,
        }
        engine.dispose()
    print(json.dumps(figures, indent=2, default=lambda v: round(v, 4) if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
