"""Live-session benchmark: N real aiortc clients stream to one real server on loopback; prints JSON.

    python -m benchmarks.live                    # N = 1, 4, 8, 16 on one and on two live workers; ~8 minutes
    python -m benchmarks.live --streams 1,4 --workers 2 --seconds 20 --media demo

Each client streams, for `--seconds`, the lean analysis stream the exam page sends (320×240 VP8 at 6 fps,
Opus in 60 ms packets: web/live/lean.py; `--stream full` sends the camera's 640×480 at 15 fps and 20 ms
packets instead), pre-encoded and sent as it is (the clients encode nothing), then finishes its exam: by
default a typical stretch of an exam (one real person at the desk, a little speech), or with `--media demo`
the demo exam, which packs every kind of event into 30 s. The server is `python -m web` in its own process.
For each N:

- cores per stream: CPU time of the server's whole process tree (receiving, decoding, analysis,
  recording writes, the database) over the streaming window, per wall second, per stream;
- frames analysed and dropped per stream (the server's /metrics, before and after);
- latency: from the arrival of the media that made an event open (`live_started_at + detected_s`)
  to the event being stored (`opened_at`), p50 and p95 over every live event of the round;
- memory per stream: growth of the tree's proportional set size (PSS) with N streams over the idle server, in all
  and split between the web process and the live workers.

Each client also sends its own recording (640×480 at 15 fps, as MediaRecorder keeps it) as the page does (a
part every 2 s, checked by the server before it is kept) and seals it at the end, so the cores per stream
include the recording's checks; `recording_checks` gives their share on its own (`benchmarks/recording.py`).

Saturation: the first N at which frames are dropped (more than 1 % of them) or p95 latency exceeds the
500 ms target. The clients run in this process and cost CPU too (reported, not counted in the server's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from benchmarks.recording import PART_S, measure, parts_of  # noqa: E402
from proctor.decode import iter_audio, iter_frames, probe  # noqa: E402
from proctor.frames import AUDIO_SAMPLE_RATE  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from proctor.policy import PRESETS  # noqa: E402
from tests.fixtures.fetch import media_path  # noqa: E402
from tests.fixtures.live_media import webm_of  # noqa: E402
from tests.fixtures.scenarios import build_demo, write_video  # noqa: E402
from tests.servers import free_port, server  # noqa: E402
from web.cputime import stat_cpu_seconds  # noqa: E402
from web.live.client import LiveClient  # noqa: E402
from web.live.lean import ANALYSIS_WIDTH, AUDIO_PACKET_MS, MAX_BITRATE  # noqa: E402

KEY = "live-benchmark-key-0123456789"
RECORDING = "WolfgangLanger_Pexels.mp4"
SIZE = (640, 480)
TARGETS = {"cores_per_stream": 0.10, "cores_per_stream_goal": 0.05, "p95_latency_ms": 500.0, "memory_per_stream_mb": 60}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the server's process tree -------------------------------------------------------------------


def tree(root: int) -> list[int]:
    """The root process and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_s(root: int) -> float:
    """User + system CPU seconds of the tree so far."""
    return sum(stat_cpu_seconds(Path(f"/proc/{pid}/stat")) or 0.0 for pid in tree(root))


def pss_mb(root: int) -> tuple[float, float]:
    """Proportional set size (shared model pages counted once across processes) of the web process, and of the
    rest of its tree (the live workers)."""
    web = others = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    if pid == root:
                        web += int(line.split()[1])
                    else:
                        others += int(line.split()[1])
        except OSError:
            continue
    return web / 1024, others / 1024


# -- the platform ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    session_id: str
    token: str


def metrics(base: str) -> dict[str, float]:
    """The server's /metrics: unlabelled families by name, labelled samples as `name{value}`."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        found[family.name] = family.samples[0].value if family.samples else 0.0
        for sample in family.samples:
            if sample.labels:
                found[f"{sample.name}{{{','.join(sample.labels.values())}}}"] = sample.value
    return found


STAGES = {
    "receive: event loop (RTP, SRTP, ICE, sampling, signatures)": ["proctor_thread_cpu_seconds{MainThread}"],
    "receive: VP8 decoding": ["proctor_thread_cpu_seconds{video-decoder}"],
    "receive: Opus decoding": ["proctor_thread_cpu_seconds{audio-decoder}"],
    "transport to the workers (queue feeders)": ["proctor_thread_cpu_seconds{QueueFeederThread}"],
    "results and database writes": [
        "proctor_thread_cpu_seconds{live-results}",
        "proctor_thread_cpu_seconds{live-writer}",
    ],
    "analysis: worker Python (conversion, dlib identity, rules)": ["proctor_live_worker_cpu_seconds_total{analysis}"],
    "analysis: mediapipe models (BlazeFace, FaceMesh, Pose)": ["proctor_live_worker_cpu_seconds_total{models}"],
    "analysis: worker other threads": ["proctor_live_worker_cpu_seconds_total{other}"],
}
"""The server's CPU by stage, from its /metrics (per-thread CPU of the web process and of the live workers)."""


def stage_cores(before: dict[str, float], after: dict[str, float], seconds: float, streams: int) -> dict[str, float]:
    """Cores per stream of each stage over a window."""
    return {
        stage: round(sum(after.get(k, 0.0) - before.get(k, 0.0) for k in keys) / seconds / streams, 4)
        for stage, keys in STAGES.items()
    }


def enrol(base: str, reference: Path, count: int) -> list[Seat]:
    """One exam (no pre-exam room scan: the stream is the exam) and `count` candidates with a session each."""
    seats = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as client:
        exam = client.post(
            "/api/v1/exams",
            json={"title": "Live benchmark", "attestation": "interim", "policy": {"room_scan": {"pre_exam": False}}},
        )
        exam.raise_for_status()
        exam_id = exam.json()["id"]
        photo = reference.read_bytes()
        for number in range(count):
            candidate = client.post(
                f"/api/v1/exams/{exam_id}/candidates",
                data={"external_id": f"B-{number:04d}", "full_name": f"Candidate {number}"},
                files={"photo": ("reference.jpg", photo, "image/jpeg")},
            )
            candidate.raise_for_status()
            session = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate.json()["id"]})
            session.raise_for_status()
            body = session.json()
            seats.append(Seat(body["id"], body["join_url"].rsplit("/", 1)[1]))
    return seats


def latencies_ms(base: str, seats: list[Seat]) -> list[float]:
    """Stored minus arrived, for every live event that opened (arrival = session start + detected_s)."""
    found = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        for seat in seats:
            session = client.get(f"/api/v1/sessions/{seat.session_id}").json()
            if not session.get("live_started_at"):
                continue
            origin = datetime.fromisoformat(session["live_started_at"]).timestamp()
            for event in client.get(f"/api/v1/sessions/{seat.session_id}/events").json():
                if event.get("opened_at") and event.get("detected_s") is not None:
                    stored = datetime.fromisoformat(event["opened_at"]).timestamp()
                    found.append(1000 * (stored - (origin + event["detected_s"])))
    return found


# -- one round -----------------------------------------------------------------------------------


async def stream(base: str, seat: Seat, media: Path, seconds: float, parts: list[bytes]) -> None:
    """One candidate: camera and microphone streamed for `seconds`, and the page's own recording sent as it
    records (a part every 2 s of media, as MediaRecorder gives them), then finished and sealed."""
    client = LiveClient(base, seat.token, timeout_s=120)
    try:
        await client.open()
        await client.consent()  # the candidate accepts the proctoring terms
        await client.ready()  # as the page's consent step gives it time to
        started = time.monotonic()
        await client.connect(media)
        sent = 0
        for number, part in enumerate(parts):
            due = (number + 1) * PART_S
            if due > seconds:
                break
            await asyncio.sleep(max(0.0, due - (time.monotonic() - started)))
            await client.put_part("camera-1", number, part, run_start_s=0.0)
            sent += 1
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        await client.disconnect()
        await client.finish(timeout_s=300)
        await client.seal({"camera-1": sent})
    finally:
        await client.close()


async def round_of(
    base: str, pid: int, seats: list[Seat], media: Path, seconds: float, parts: list[bytes]
) -> dict[str, Any]:
    before = metrics(base)
    idle_mb = pss_mb(pid)
    client_cpu0 = time.process_time()
    wall0 = time.monotonic()
    running = [asyncio.create_task(stream(base, seat, media, seconds, parts)) for seat in seats]
    # the window starts once every stream has its decoder threads (they are counted while they live)
    await asyncio.sleep(min(5.0, seconds * 0.2))
    window0, cpu0, t0 = await asyncio.to_thread(metrics, base), cpu_s(pid), time.monotonic()
    await asyncio.sleep(max(0.0, seconds * 0.6 - (time.monotonic() - wall0)))
    busy_mb = await asyncio.to_thread(pss_mb, pid)
    await asyncio.sleep(max(0.0, seconds - 1.0 - (time.monotonic() - wall0)))
    window1, cpu1, t1 = await asyncio.to_thread(metrics, base), cpu_s(pid), time.monotonic()
    wall1 = time.monotonic()  # the streaming window (finishing the exams comes after)
    client_cpu = time.process_time() - client_cpu0
    await asyncio.gather(*running)
    after = metrics(base)
    n = len(seats)
    analysed = after["proctor_live_frames_analysed"] - before["proctor_live_frames_analysed"]
    dropped = after["proctor_live_frames_dropped"] - before["proctor_live_frames_dropped"]
    delays = sorted(await asyncio.to_thread(latencies_ms, base, seats))
    cores = (cpu1 - cpu0) / (t1 - t0)
    return {
        "streams": n,
        "window_s": round(t1 - t0, 1),
        "server_cores": round(cores, 3),
        "cores_per_stream": round(cores / n, 3),
        "client_cores": round(client_cpu / (wall1 - wall0), 3),
        "frames_analysed_per_stream": round(analysed / n, 1),
        "frames_dropped_per_stream": round(dropped / n, 1),
        "dropped_share": round(dropped / max(1.0, analysed + dropped), 4),
        "events_timed": len(delays),
        "latency_p50_ms": round(statistics.median(delays), 1) if delays else None,
        "latency_p95_ms": round(delays[min(len(delays) - 1, int(0.95 * len(delays)))], 1) if delays else None,
        "memory_per_stream_mb": round((sum(busy_mb) - sum(idle_mb)) / n, 1),
        "memory_per_stream_mb_by_process": {
            "web process": round((busy_mb[0] - idle_mb[0]) / n, 1),
            "live workers": round((busy_mb[1] - idle_mb[1]) / n, 1),
        },
        "server_pss_mb": round(sum(busy_mb), 1),
        "cores_per_stream_by_stage": stage_cores(window0, window1, t1 - t0, n),
    }


def saturated(row: dict[str, Any]) -> bool:
    p95 = row["latency_p95_ms"]
    return row["dropped_share"] > 0.01 or (p95 is not None and p95 > TARGETS["p95_latency_ms"])


def exam_fixture(folder: Path) -> tuple[Path, Path]:
    """A typical stretch of an exam: one real person at the desk (WolfgangLanger, played forward then back,
    39 s at 15 fps), quiet room noise with 8 s of real speech from 20 s; its reference photo."""
    path, reference = folder / "exam_640x480.mp4", folder / "exam_reference.jpg"
    if not path.exists():
        frames = [f.image for f in iter_frames(media_path(RECORDING), 15.0)]
        cv2.imwrite(str(reference), frames[13 * 15])
        frames = [cv2.resize(f, SIZE, interpolation=cv2.INTER_LINEAR) for f in frames + frames[::-1]]
        samples = len(frames) * AUDIO_SAMPLE_RATE // 15
        audio = np.random.default_rng(7).normal(0, 25, samples).astype(np.int16)  # about -62 dBFS of room hiss
        speech = np.concatenate([c.samples for c in iter_audio(media_path("speech_60s.wav"), 1.0)])
        start = 20 * AUDIO_SAMPLE_RATE
        audio[start : start + 8 * AUDIO_SAMPLE_RATE] += speech[: 8 * AUDIO_SAMPLE_RATE]
        write_video(path, frames, audio)
    return path, reference


def demo_fixture(folder: Path) -> tuple[Path, Path]:
    """The demo exam (every kind of event in 30 s: the dense case), stretched from 640×360 to 640×480."""
    demo = build_demo(folder / "demo")
    path = folder / "demo_640x480.mp4"
    if not path.exists():
        frames = [cv2.resize(f.image, SIZE, interpolation=cv2.INTER_LINEAR) for f in iter_frames(demo.video)]
        audio = np.concatenate([chunk.samples for chunk in iter_audio(demo.video, 1.0)])
        write_video(path, frames, audio)
    return path, demo.reference


FIXTURES = {"exam": exam_fixture, "demo": demo_fixture}


def lean_of(source: Path) -> Path:
    """The lean analysis stream of `source`, as the exam page sends it (web/live/lean.py)."""
    fps = math.ceil(PRESETS["interim"].analysis_rate_hz * 1.2)  # the page's margin above the analysis rate
    out = source.with_name(f"{source.stem}_lean_{ANALYSIS_WIDTH}_{fps}fps.webm")
    return webm_of(source, out, bitrate=MAX_BITRATE, width=ANALYSIS_WIDTH, fps=fps, audio_packet_ms=AUDIO_PACKET_MS)


def stream_facts(media: Path) -> dict[str, Any]:
    info = probe(media)
    with av.open(str(media)) as container:
        packets = [p for p in container.demux(audio=0) if p.size and p.duration] if info.has_audio else []
        packet_ms = 1000 * float((packets[0].duration or 0) * packets[0].time_base) if packets else None
    return {"size": f"{info.width}x{info.height}", "fps": round(info.fps, 1), "audio_packet_ms": packet_ms}


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="1,4,8,16", help="comma-separated stream counts (default 1,4,8,16)")
    parser.add_argument("--seconds", type=float, default=25.0, help="streaming time per round (default 25)")
    parser.add_argument(
        "--media", choices=sorted(FIXTURES), default="exam", help="exam: one person, quiet (default); demo: every event"
    )
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated PROCTOR_LIVE_WORKERS, a server each (default 1,2)"
    )
    parser.add_argument(
        "--stream",
        choices=("lean", "full"),
        default="lean",
        help="lean: what the exam page sends for analysis (default); full: the camera's 640×480 at 15 fps",
    )
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.streams.split(",") if n.strip()]
        worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        parser.error("--streams and --workers take numbers separated by commas, e.g. 1,4,8")
    longest = 29.0 if args.media == "demo" else 38.0
    if not counts or min(counts) < 1 or not 1.0 <= args.seconds <= longest:
        parser.error(f"--streams needs counts of at least 1, and --seconds is 1–{longest:.0f} for --media {args.media}")
    if not worker_counts or min(worker_counts) < 1:
        parser.error("--workers needs counts of at least 1")
    cache = Path(os.environ.get("PROCTOR_BENCH_CACHE", Path(tempfile.gettempdir()) / "proctor-bench-live"))
    cache.mkdir(parents=True, exist_ok=True)  # a fresh checkout has none yet
    say(f"building the WebM fixtures in {cache} (once) …")
    source, reference = FIXTURES[args.media](cache)
    full = webm_of(source, source.with_suffix(".webm"))  # the page's own recording: the camera as it is
    media = full if args.stream == "full" else lean_of(source)
    parts = parts_of(full)
    say("timing the recording's checks (parts, signatures, seal) …")
    recording = measure(full)
    rows: list[dict[str, Any]] = []
    total = len(counts) * len(worker_counts)
    for workers in worker_counts:
        with tempfile.TemporaryDirectory(prefix="bench-live-") as data:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            environment = {"PROCTOR_LOG_LEVEL": "WARNING", "PROCTOR_LIVE_WORKERS": str(workers)}
            say(f"starting the server with {workers} live worker(s) on {base} …")
            with server(Path(data) / "data", port, key=KEY, **environment) as process:
                for count in counts:
                    seats = enrol(base, reference, count)
                    say(f"[{len(rows) + 1}/{total}] {count} stream(s), {workers} worker(s), {args.seconds:.0f} s …")
                    row = asyncio.run(round_of(base, process.pid, seats, media, args.seconds, parts))
                    row = {"live_workers": workers, **row}
                    say(f"      {row['cores_per_stream']} cores/stream, p95 {row['latency_p95_ms']} ms")
                    rows.append(row)
    saturation = {}
    for workers in worker_counts:
        mine = [row for row in rows if row["live_workers"] == workers]
        quiet = [row for row in mine if not saturated(row)]
        best = min((row["cores_per_stream"] for row in quiet), default=None)
        saturation[f"{workers}_workers"] = {
            "first_saturated_streams": next((row["streams"] for row in mine if saturated(row)), None),
            "most_streams_without_drops": max((row["streams"] for row in quiet), default=None),
            "streams_per_core": round(1.0 / best, 1) if best else None,
        }
    figures = {
        "cpus": len(os.sched_getaffinity(0)),
        "media": {
            "fixture": args.media,
            "stream": args.stream,
            "sent_for_analysis": stream_facts(media),
            "recording": stream_facts(full),
            "codec": "VP8 + Opus (WebM, sent without re-encoding)",
        },
        "rounds": rows,
        "recording_checks": recording,
        "saturation": saturation,
        "targets": TARGETS,
    }
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
