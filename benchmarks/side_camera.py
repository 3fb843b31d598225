"""What the second camera (the phone beside the candidate) costs the server per stream: its recording parts checked
as every part is (EBML reading, placing, decoding each keyframe) and its analysis (people and hands in each
keyframe: BlazeFace full range and Pose in static mode; the shared screen looked for in it). CPU seconds per second
of the phone's video; JSON.

    python -m benchmarks.side_camera        # the live benchmark's person at a desk, as a phone records it

The phone's page records 640×360 at 600 kbit/s with a keyframe every 2 s (web/pages/static/student/side.js), sent
in 2-s parts; that is what is measured here. CPU is this process's CPU time, all its threads (mediapipe's graph
threads included), so a busy machine stretches it little. Compare with the main camera's live analysis per stream
(`make bench-live`, docs/benchmarks.md). Where the exam records the shared screen, each picture is also searched for
the screen's keyframe of the moment (here the rendered exam page of tests/fixtures/screens.py, which the phone's
video does not show: the cost of a search that finds nothing, its usual worst case).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.recording import cpu, parts_of, say
from proctor.nativelog import quiet_native_noise
from proctor.recording.parts import Picture, Timeline, check_part
from proctor.sessions.side_camera import SideViews
from tests.fixtures.screens import render_screen

PHONE_WIDTH = 640
PHONE_BITRATE = 600_000
KEYFRAME_S = 2.0


def phone_recording(folder: Path) -> Path:
    """The live benchmark's exam stretch (one person at a desk, 39 s) as the phone's page records it."""
    from benchmarks.live import exam_fixture
    from tests.fixtures.live_media import webm_of

    out = folder / "side_phone_640.webm"
    if not out.exists():
        source, _ = exam_fixture(folder)
        webm_of(source, out, keyframe_every_s=KEYFRAME_S, bitrate=PHONE_BITRATE, width=PHONE_WIDTH)
    return out


def measure(media: Path) -> dict[str, Any]:
    """The side track's server cost for the recording `media` (VP8 WebM, keyframes every 2 s)."""
    parts = parts_of(media)

    def check_all() -> tuple[float, list[Picture]]:
        state, origin, last, pictures = None, None, 0.0, []
        for number, part in enumerate(parts):
            checked = check_part(part, number == 0, state, Timeline(0.0, origin, 1e6), pictures=True)
            state, origin = checked.state, checked.origin_s
            pictures.extend(checked.pictures)
            last = checked.span[1] if checked.span else last
        return last, pictures

    (duration, pictures), checking = cpu(check_all)
    views = SideViews()
    views.see("warm-up", pictures[:1])  # the models load on the first picture (once per process, not per stream)
    seen, viewing = cpu(views.see, "no-screen", pictures)

    def with_the_screen() -> list[list[float]]:
        """Each picture with the shared screen's keyframe of the moment (a new one every 2 s, as its parts come)."""
        found = []
        for picture in pictures:
            views.screen_shown("screen", Picture(picture.at_s, screen))
            found += views.see("screen", [picture])
        return found

    screen = render_screen("welding")[:, :, ::-1].copy()  # the exam page, RGB as the screen's keyframes are
    screened, screening = cpu(with_the_screen)
    total = (checking + screening) / duration
    return {
        "media_s": round(duration, 1),
        "parts": len(parts),
        "pictures": len(pictures),
        "size": f"{pictures[0].rgb.shape[1]}x{pictures[0].rgb.shape[0]}" if pictures else None,
        "part_checks_cpu_s_per_media_s": round(checking / duration, 5),
        "views_cpu_ms_per_picture": round(1000 * viewing / max(len(pictures), 1), 1),
        "views_cpu_s_per_media_s": round(viewing / duration, 5),
        "views_with_screen_check_cpu_ms_per_picture": round(1000 * screening / max(len(pictures), 1), 1),
        "screen_check_cpu_s_per_media_s": round((screening - viewing) / duration, 5),
        "cores_per_side_stream": round(total, 5),
        "pictures_with_someone": round(sum(1 for v in seen if v[1] >= 1) / max(len(seen), 1), 3),
        "pictures_with_the_screen": round(sum(1 for v in screened if v[3] == 1) / max(len(screened), 1), 3),
    }


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)
    if argv:
        print("python -m benchmarks.side_camera takes no arguments", file=sys.stderr)
        return 2
    cache = Path(os.environ.get("PROCTOR_BENCH_CACHE", Path(tempfile.gettempdir()) / "proctor-bench-live"))
    cache.mkdir(parents=True, exist_ok=True)
    say(f"building the phone's 640×360 WebM in {cache} (once) …")
    json.dump(measure(phone_recording(cache)), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
