"""Room-scan benchmark: prints JSON figures (run on one core: `taskset -c 0 python -m benchmarks.roomscan`).

- speed: analysed 640×480 frames per CPU-second for a 20 s scan at 15 fps, decoding included, with the
  default config (rotation + quality on every frame, faces at 5 Hz, Pose at 1 Hz), and the time from
  the last frame to the report (focal self-calibration and re-solve);
- accuracy: coverage, largest gap, field of view and people per ground-truth scenario rendered from a
  real-photo panorama (tests/roomscan/render.py) at 640×480.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

from proctor.decode import iter_frames  # noqa: E402
from proctor.frames import Frame  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanReport  # noqa: E402
from proctor.roomscan.config import RoomScanConfig  # noqa: E402
from tests.roomscan.render import BoxRoom, ScanVideo, eased, render_scan  # noqa: E402

SIZE = (640, 480)
FPS = 15.0
# name: (yaw knots (t, deg), duration s, blur sub-frames, camera hfov deg, face yaw deg)
SCENARIOS: dict[str, tuple[list[tuple[float, float]], float, int, float, float | None]] = {
    "slow_full_20s": ([(0.0, 0.0), (20.0, 365.0)], 20.0, 1, 62.0, None),
    "fast_full_4s_blur": ([(0.0, 0.0), (4.0, 360.0)], 4.0, 3, 62.0, None),
    "full_wide_lens_78deg": ([(0.0, 0.0), (12.0, -360.0)], 12.0, 1, 78.0, None),
    "full_narrow_lens_50deg": ([(0.0, 0.0), (12.0, 360.0)], 12.0, 1, 50.0, None),
    "half_turn": ([(0.0, 0.0), (8.0, 180.0)], 8.0, 1, 62.0, None),
    "half_turn_fast": ([(0.0, 0.0), (2.0, -180.0)], 2.0, 3, 62.0, None),
    "stop_and_come_back": ([(0.0, 0.0), (5.0, 200.0), (6.0, 200.0), (9.0, 60.0)], 9.0, 1, 62.0, None),
    "face_in_room": ([(0.0, 0.0), (12.0, 360.0)], 12.0, 1, 62.0, 150.0),
}

# 3-D box room (3.5 × 2.4 × 4 m) with the webcam `radius` m in front of its turning axis (parallax):
# name: (total yaw deg, duration s, radius m)
ROOM_SCENARIOS: dict[str, tuple[float, float, float]] = {
    "room_full_r15cm": (360.0, 10.0, 0.15),
    "room_full_r30cm": (-360.0, 10.0, 0.30),
    "room_half_r15cm": (180.0, 6.0, 0.15),
    "room_half_r30cm": (180.0, 6.0, 0.30),
    "room_340deg_r30cm": (340.0, 10.0, 0.30),
    "room_320deg_r15cm": (320.0, 10.0, 0.15),
}
ROOM_FPS = 10.0


def room_rows(config: RoomScanConfig) -> list[dict[str, Any]]:
    """Accuracy in the parallax room, with and without loop closure."""
    room = BoxRoom(SIZE[0], SIZE[1], 62.0)
    rows = []
    for name, (total, duration, radius) in ROOM_SCENARIOS.items():
        path = eased([(0.0, 0.0), (duration, total)])
        count = int(duration * ROOM_FPS) + 1
        frames = [Frame(k, k / ROOM_FPS, room.view(path(k / ROOM_FPS), radius)) for k in range(count)]
        row: dict[str, Any] = {
            "scenario": name,
            "true_coverage_deg": min(360.0, abs(total)),
            "true_net_turn_deg": total,
        }
        for closure in (True, False):
            with RoomScanAnalyzer(config.model_copy(update={"loop_closure": closure})) as analyzer:
                for frame in frames:
                    analyzer.feed(frame)
                report = analyzer.finish()
            suffix = "" if closure else "_without_loop_closure"
            row[f"coverage_deg{suffix}"] = round(report.coverage_deg, 1)
            row[f"net_turn_deg{suffix}"] = round(report.net_turn_deg, 1)
            row[f"complete{suffix}"] = report.complete
        row["coverage_error_deg"] = round(row["coverage_deg"] - row["true_coverage_deg"], 1)
        rows.append(row)
    return rows


def run(video: ScanVideo, config: RoomScanConfig) -> tuple[ScanReport, float, float, float]:
    """Analyse one video: report, CPU seconds for all frames, wall seconds, seconds from last frame to report."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with RoomScanAnalyzer(config) as analyzer:
        for frame in iter_frames(video.path, config.analysis_rate_hz):
            analyzer.feed(frame)
        end = time.perf_counter()
        report = analyzer.finish()
    return report, time.process_time() - cpu0, time.perf_counter() - wall0, time.perf_counter() - end


def accuracy(name: str, video: ScanVideo, report: ScanReport, hfov: float) -> dict[str, Any]:
    persons = [round(p.yaw_deg, 1) for p in report.persons]
    return {
        "scenario": name,
        "true_coverage_deg": round(video.true_coverage_deg, 1),
        "coverage_deg": round(report.coverage_deg, 1),
        "coverage_error_deg": round(report.coverage_deg - video.true_coverage_deg, 1),
        "largest_gap_deg": round(report.largest_gap_deg, 1),
        "true_net_turn_deg": round(video.true_yaws[-1], 1),
        "net_turn_deg": round(report.net_turn_deg, 1),
        "true_hfov_deg": hfov,
        "hfov_deg": round(report.hfov_deg, 1),
        "complete": report.complete,
        "mean_speed_deg_s": round(report.quality.mean_speed_deg_s, 1),
        "flags": list(report.quality.flags),
        "true_person_yaw_deg": video.face_yaw_deg,
        "person_yaws_deg": persons,
    }


def main() -> None:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    config = RoomScanConfig()
    results: dict[str, Any] = {
        "frame_size": list(SIZE),
        "source_fps": FPS,
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (knots, duration, blur, hfov, face) in SCENARIOS.items():
            video = render_scan(
                Path(folder) / f"{name}.mp4",
                eased(knots),
                duration,
                fps=FPS,
                size=SIZE,
                hfov_deg=hfov,
                blur_subframes=blur,
                face_yaw_deg=face,
            )
            report, cpu_s, wall_s, verify_s = run(video, config)
            row = accuracy(name, video, report, hfov)
            row["frames_per_cpu_s"] = round(report.frames / cpu_s, 1)
            rows.append(row)
            if name == "slow_full_20s":
                results["speed"] = {
                    "scan_s": duration,
                    "frames": report.frames,
                    "frames_per_cpu_s": round(report.frames / cpu_s, 1),
                    "frames_per_wall_s": round(report.frames / wall_s, 1),
                    "cpu_ms_per_frame": round(1000 * cpu_s / report.frames, 2),
                    "report_after_last_frame_s": round(verify_s, 3),
                    "analysis_wall_s": round(wall_s, 2),
                }
    results["scenarios"] = rows
    results["max_abs_coverage_error_deg"] = max(abs(r["coverage_error_deg"]) for r in rows)
    results["parallax_room"] = room_rows(config)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
