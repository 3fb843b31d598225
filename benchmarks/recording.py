"""What keeping a live client's recording honest costs per stream: the checks of its parts, the signatures of the
frames the analysis receives, and the seal's comparison; CPU seconds per second of media and bytes kept. JSON.

    python -m benchmarks.recording               # on the live benchmark's 640×480 fixture
    python -m benchmarks.recording --minutes 90  # the seal of a 90-minute exam

CPU is this process's CPU time (not wall time), so a busy machine stretches it little. `benchmarks.live` puts
these figures in its own JSON beside the all-in cost of live streams (whose clients send their recording too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from proctor.nativelog import quiet_native_noise
from proctor.recording.parts import Timeline, check_part
from proctor.recording.signature import SIZE, Signature, check_samples, mismatch_spans, pack, signature_of
from proctor.recording.webm import WebmStream
from proctor.sessions.seal import CheckSettings

PART_S = 2.0
"""What the page sends: a MediaRecorder part every 2 s."""
ANALYSIS_HZ = 5.0
SIGNATURES_HZ = 2.0
"""The live session keeps a signature every 0.5 s of what its analysis receives (web/live/session.py)."""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parts_of(media: Path, part_s: float = PART_S) -> list[bytes]:
    """The recording cut as a browser sends it: about `part_s` of media a part, cut at cluster starts."""
    data = media.read_bytes()
    cuts = [0]
    stream = WebmStream()
    step = 4096
    for offset in range(0, len(data), step):  # find where each cluster's first block lies
        reading, state = stream.read(data[offset : offset + step], first=offset == 0)
        stream = WebmStream(state)
        for block in reading.blocks:
            if block.t_s >= len(cuts) * part_s and block.keyframe:
                cuts.append(offset)
    cuts.append(len(data))
    return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def cpu(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.process_time()
    result = function(*args)
    return result, time.process_time() - started


def part_checks(media: Path) -> dict[str, Any]:
    parts = parts_of(media)

    def check_all() -> tuple[float, int, int]:
        state, origin, samples, last = None, None, 0, 0.0
        for number, part in enumerate(parts):
            checked = check_part(part, number == 0, state, Timeline(0.0, origin, 1e6))
            state, origin, samples = checked.state, checked.origin_s, samples + len(checked.samples)
            last = checked.span[1] if checked.span else last
        return last, samples, len(pack([Signature(0.0, bytes(SIZE))])) * samples

    (duration, samples, sample_bytes), spent = cpu(check_all)
    return {
        "media_s": round(duration, 1),
        "parts": len(parts),
        "part_bytes_mean": round(sum(len(p) for p in parts) / len(parts)),
        "keyframe_samples": samples,
        "cpu_s_per_media_s": round(spent / duration, 5),
        "sample_bytes_per_media_s": round(sample_bytes / duration, 1),
    }


def frame_signatures(media: Path) -> dict[str, Any]:
    with av.open(str(media)) as container:
        planes = [
            np.ascontiguousarray(f.to_ndarray(format="yuv420p")[: f.height], dtype=np.uint8)
            for f in container.decode(video=0)
        ][:: max(1, round(15 / ANALYSIS_HZ))]
    _, spent = cpu(lambda: [signature_of(plane) for plane in planes])
    per_frame = spent / len(planes)
    stored = len(pack([Signature(0.0, bytes(SIZE))]))
    return {
        "frames": len(planes),
        "size": f"{planes[0].shape[1]}x{planes[0].shape[0]}",
        "cpu_ms_per_frame": round(1000 * per_frame, 4),
        "cpu_s_per_media_s": round(per_frame * SIGNATURES_HZ, 5),
        "stored_bytes_per_media_s": round(stored * SIGNATURES_HZ, 1),
    }


def seal_check(minutes: float) -> dict[str, Any]:
    """The seal's comparison for an exam of `minutes`: a sample every 2 s against 2 signatures a second."""
    rng = np.random.default_rng(7)
    seconds = minutes * 60.0
    picture = rng.integers(0, 255, SIZE, dtype=np.uint8)
    seen = [Signature(t, picture.tobytes()) for t in np.arange(0.0, seconds, 1.0 / SIGNATURES_HZ)]
    samples = [Signature(t + 0.05, picture.tobytes()) for t in np.arange(0.0, seconds, PART_S)]
    settings = CheckSettings()

    def seal() -> int:
        checks = check_samples(samples, seen, settings.window_s)
        return len(mismatch_spans(checks, settings.min_similarity, settings.min_samples, settings.join_s))

    _, spent = cpu(seal)
    return {"exam_minutes": minutes, "samples": len(samples), "signatures": len(seen), "cpu_s": round(spent, 3)}


def measure(media: Path, minutes: float = 90.0) -> dict[str, Any]:
    """Every figure of this benchmark for the recording `media` (VP8 + Opus WebM)."""
    checks, signatures, seal = part_checks(media), frame_signatures(media), seal_check(minutes)
    per_stream = checks["cpu_s_per_media_s"] + signatures["cpu_s_per_media_s"] + seal["cpu_s"] / (minutes * 60.0)
    return {
        "part_checks": checks,
        "frame_signatures": signatures,
        "seal": seal,
        "cores_per_stream": round(per_stream, 5),
        "stored_bytes_per_media_s": round(
            checks["sample_bytes_per_media_s"] + signatures["stored_bytes_per_media_s"], 1
        ),
    }


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    from benchmarks.live import exam_fixture

    parser = argparse.ArgumentParser(prog="python -m benchmarks.recording", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=90.0, help="the exam length the seal is timed for (90)")
    args = parser.parse_args(argv)
    if not 1.0 <= args.minutes <= 600.0:
        parser.error("--minutes is 1–600")
    cache = Path(os.environ.get("PROCTOR_BENCH_CACHE", Path(tempfile.gettempdir()) / "proctor-bench-live"))
    cache.mkdir(parents=True, exist_ok=True)
    say(f"building the 640×480 WebM fixture in {cache} (once) …")
    media, _ = exam_fixture(cache)
    json.dump(measure(media, args.minutes), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
