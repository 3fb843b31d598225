"""Batch analysis throughput of the job queue: 1 and 2 local worker processes, and Ray with 1 and 2 worker nodes
(one CPU each; the head runs no actors). Prints JSON.

For each layout a batch of recordings is uploaded (held back from the workers meanwhile), then let go at
once, and timed from the first claim of a job to the last result kept — the analysis only, not the
handling of the uploads (the workers are warm: each first analyses one short recording, not counted).
Figures: recorded hours analysed per wall-clock hour, scaling efficiency (throughput with 2 / (2 × with
1)), the wall time of two recordings at once against one (`PROCTOR_ANALYSIS_WORKERS=2`), and what Ray
adds per job (the same batch of short recordings on one local process and on one Ray actor). Loopback
only; the platform runs embedded (SQLite) in this process, its workers in their own processes or Ray
actors.

    python -m benchmarks.cluster [--batch 4] [--short 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"})  # loopback (deploy)

from deploy.cluster import start_ray  # noqa: E402
from deploy.processes import stop_group  # noqa: E402
from footprint.accounts import create_college  # noqa: E402
from footprint.ledger import Ledger  # noqa: E402
from footprint.store import make_engine, make_session_factory, migrate  # noqa: E402
from proctor.decode import probe  # noqa: E402
from proctor.jobs import Executor, LocalExecutor  # noqa: E402
from proctor.nativelog import quiet_native_noise
from proctor.recording.storage import LocalStorage  # noqa: E402
from proctor.sessions.clock import db_time  # noqa: E402
from proctor.sessions.recordings import Upload  # noqa: E402
from proctor.sessions.service import ServiceConfig, SessionService  # noqa: E402
from proctor.sessions.tables import SessionRow  # noqa: E402
from proctor.sessions.worker import AnalysisWorker  # noqa: E402
from tests.fixtures.fetch import fetch_all  # noqa: E402
from tests.fixtures.scenarios import build_demo  # noqa: E402


class Bench:
    """An embedded platform (SQLite, local storage) with one exam and candidate, to queue uploads into."""

    def __init__(self, folder: Path, reference: bytes) -> None:
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate(url)
        self.engine = make_engine(url)
        sessions = make_session_factory(self.engine)
        with sessions.begin() as db:
            self.college = create_college(db, "Bench College")
        self.service = SessionService(
            sessions, LocalStorage(folder / "media"), Ledger("bench/log"), ServiceConfig("http://127.0.0.1")
        )
        exam = self.service.create_exam(self.college, "Batch", "interim", None)
        self.exam_id = exam.id
        self.candidate_id = self.service.add_candidate(self.college, exam.id, "S-1", "Arman", reference).id
        self.folder = folder

    def queue(self, recordings: list[Path]) -> list[str]:
        """Upload the recordings; their jobs are held back (a retry time far ahead) until `release`."""
        ids = []
        for recording in recordings:
            row, _ = self.service.create_session(self.college, self.exam_id, self.candidate_id)
            copy = self.folder / f"upload-{row.id}{recording.suffix}"
            shutil.copy(recording, copy)
            digest = hashlib.sha256(copy.read_bytes()).hexdigest()
            self.service.recordings.accept(self.college, row.id, Upload(copy, digest, copy.stat().st_size))
            self._hold([row.id], db_time(86400))
            ids.append(row.id)
        return ids

    def release(self, ids: list[str]) -> None:
        self._hold(ids, None)

    def _hold(self, ids: list[str], until: Any) -> None:
        with self.service.store.write() as db:
            db.execute(update(SessionRow).where(SessionRow.id.in_(ids)).values(job_retry_at=until))

    def analysis_s(self, ids: list[str]) -> float:
        """Seconds from the first claim of the jobs to the last result kept (the database's times)."""
        with self.service.sessions() as db:
            first, last = db.execute(
                select(func.min(SessionRow.job_started_at), func.max(SessionRow.analysed_at)).where(
                    SessionRow.id.in_(ids)
                )
            ).one()
        return float((last - first).total_seconds())


def timed_batch(bench: Bench, worker: AnalysisWorker, recordings: list[Path]) -> float:
    """Upload the recordings, let them go at once; seconds from the first claim to the last result kept."""
    ids = bench.queue(recordings)
    bench.release(ids)
    worker.submit("batch")
    if not worker.wait_idle(timeout=3600):
        raise RuntimeError("the batch did not finish")
    return bench.analysis_s(ids)


def run_layout(
    folder: Path, reference: bytes, executor: Callable[[], Executor], warm: Path, batches: dict[str, list[Path]]
) -> dict[str, float]:
    """Wall seconds of each batch on one layout (the workers warmed first with `warm`)."""
    bench = Bench(Path(tempfile.mkdtemp(dir=folder)), reference)
    chosen = executor()
    worker = AnalysisWorker(bench.service, executor=chosen, node="bench", poll_s=0.2)
    worker.start()
    try:
        timed_batch(bench, worker, [warm] * chosen.slots)  # models loaded, processes or actors started
        return {name: round(timed_batch(bench, worker, batch), 2) for name, batch in batches.items()}
    finally:
        worker.stop()
        bench.engine.dispose()


@contextmanager
def ray_cluster(folder: Path, workers: int) -> Iterator[str]:
    """A loopback Ray cluster: a head without CPUs for actors, and `workers` worker nodes of one CPU."""
    temp = Path("/tmp") / f"proctor-bench-ray-{os.getpid()}"
    address, processes = start_ray(folder, temp, workers, cpus=1, head_cpus=0)
    try:
        yield address
    finally:
        for process in reversed(processes):
            stop_group(process.pid)
        shutil.rmtree(temp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster")
    parser.add_argument("--batch", type=int, default=4, help="recordings per throughput batch (the demo, 30 s)")
    parser.add_argument("--short", type=int, default=8, help="short recordings to measure Ray's cost per job")
    parser.add_argument("--local-only", action="store_true", help="only the local layouts (no Ray cluster)")
    args = parser.parse_args(argv)
    media = fetch_all()
    folder = Path(tempfile.mkdtemp(prefix="proctor-bench-cluster-"))
    folder.chmod(0o755)
    try:
        demo = build_demo(folder / "demo")
        reference = demo.reference.read_bytes()
        long, short = demo.video, media / "single_face.mp4"
        recorded = probe(long).duration_s
        short_s = probe(short).duration_s
        batches = {"one": [long], "two": [long, long], "batch": [long] * args.batch, "short": [short] * args.short}
        results: dict[str, dict[str, float]] = {}
        load: dict[str, float] = {}
        for slots in (1, 2):
            load[f"local_{slots}"] = round(os.getloadavg()[0], 2)
            results[f"local_{slots}"] = run_layout(folder, reference, lambda n=slots: LocalExecutor(n), short, batches)
        from proctor.jobs.ray_cluster import RayExecutor, RayOptions

        for nodes in () if args.local_only else (1, 2):
            load[f"ray_{nodes}_nodes"] = round(os.getloadavg()[0], 2)
            with ray_cluster(folder / f"ray{nodes}", nodes) as address:
                options = RayOptions(address, actors=nodes)
                results[f"ray_{nodes}_nodes"] = run_layout(
                    folder, reference, lambda o=options: RayExecutor(o), short, batches
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def throughput(layout: str) -> float:
        """Recorded hours analysed per wall-clock hour, on the batch."""
        return round(args.batch * recorded / results[layout]["batch"], 2)

    ray = "ray_1_nodes" in results
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average_1m_before": load},
        "recording_s": round(recorded, 2),
        "batch": args.batch,
        "wall_s": results,
        "throughput_recorded_h_per_h": {layout: throughput(layout) for layout in results},
        "scaling_efficiency": {
            "local": round(throughput("local_2") / (2 * throughput("local_1")), 2),
            **({"ray": round(throughput("ray_2_nodes") / (2 * throughput("ray_1_nodes")), 2)} if ray else {}),
        },
        "two_recordings_vs_one": {
            layout: round(results[layout]["two"] / results[layout]["one"], 2) for layout in results
        },
        "ray_overhead_per_job_s": round((results["ray_1_nodes"]["short"] - results["local_1"]["short"]) / args.short, 3)
        if ray
        else None,
        "short_recording_s": round(short_s, 2),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
