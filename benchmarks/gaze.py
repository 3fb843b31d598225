"""Gaze cost benchmark: prints JSON figures (run on one core: `taskset -c 0`).

- ms per FaceMesh call without and with the iris refinement (tracking mode, the WolfgangLanger fixture's frames
  at the live 320×240 and at 640×360): the refinement is the cost of gaze's landmarks;
- ms of the gaze arithmetic per measured frame (iris ratios, offset from neutral, the rule's signal) and of one
  evidence picture (made only on a gaze_away frame);
- FaceMesh calls per second of the analysis (the calm-head gate lets it rest every other frame) and the core per
  live stream gaze adds: calls/s × (refinement + arithmetic).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

from proctor.analyze import analyze_recording  # noqa: E402
from proctor.analyzers.gaze import EyeRatios, eye_ratios, eyes_evidence, gaze_from  # noqa: E402
from proctor.analyzers.headpose import HeadPose, HeadPoseEstimator  # noqa: E402
from proctor.decode import iter_frames  # noqa: E402
from proctor.events.detector import EventDetector  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from proctor.policy import PRESETS, policy_from_dict  # noqa: E402
from tests.fixtures.fetch import media_path  # noqa: E402

REPEATS = 3


def facemesh_ms(frames: list[np.ndarray], refine: bool) -> float:
    """Median over repeats of the mean ms per FaceMesh call in tracking mode over the frames."""
    runs = []
    for _ in range(REPEATS):
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=refine) as mesh:
            mesh.process(frames[0])  # the first call builds the graph
            start = time.perf_counter()
            for rgb in frames:
                mesh.process(rgb)
            runs.append((time.perf_counter() - start) * 1000 / len(frames))
    return statistics.median(runs)


def gaze_arithmetic_ms(frames: list[np.ndarray]) -> tuple[float, float]:
    """ms per measured frame of the gaze arithmetic (ratios, offset, the rule's signal), and of one evidence."""
    head = HeadPoseEstimator(iris=True)
    measures = [m for m in (head.measure_rgb(rgb) for rgb in frames) if m is not None and m.eyes_box is not None]
    head.close()
    detector = EventDetector(PRESETS["interim"])
    neutral = EyeRatios(0.0, 0.0, 0.25, 20.0)
    # an eye's corners, lids and iris centre twice (pixels): the arithmetic costs the same whatever they are
    points = np.array([(100, 100), (130, 100), (115, 95), (115, 105), (116, 100)] * 2, dtype=np.float64)
    points[5:, 0] += 60
    still = HeadPose(0.0, 0.0, 0.0)
    loops = 20
    start = time.perf_counter()
    for _ in range(loops):
        for measure in measures:
            eyes, box = eye_ratios(points)
            gaze = gaze_from(eyes, box, neutral, measure.pose.yaw, measure.pose.pitch)
            detector._gaze_away(0.0, gaze, still, frames[0])
    per_frame = (time.perf_counter() - start) * 1000 / (loops * len(measures))
    bgr = np.ascontiguousarray(frames[0][:, :, ::-1])
    box = measures[0].eyes_box
    assert box is not None
    start = time.perf_counter()
    for _ in range(200):
        eyes_evidence(bgr, box)
    return per_frame, (time.perf_counter() - start) * 1000 / 200


def main() -> None:
    quiet_native_noise()
    recording = media_path("WolfgangLanger_Pexels.mp4")
    source = [np.ascontiguousarray(f.rgb) for f in iter_frames(recording, 5.0)]
    figures: dict[str, object] = {}
    for label, size in (("320x240", (320, 240)), ("640x360", (640, 360))):
        frames = [np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)) for rgb in source]
        plain, refined = facemesh_ms(frames, False), facemesh_ms(frames, True)
        arithmetic, evidence = gaze_arithmetic_ms(frames)
        figures[label] = {
            "facemesh_ms": round(plain, 2),
            "facemesh_iris_ms": round(refined, 2),
            "refinement_ms": round(refined - plain, 2),
            "gaze_arithmetic_ms": round(arithmetic, 3),
            "evidence_ms": round(evidence, 3),
        }
    result = analyze_recording(recording, None, policy_from_dict({"gaze": {"enabled": True}}))
    calls_per_s = result.stages.head_pose / result.info.duration_s
    live = figures["320x240"]
    assert isinstance(live, dict)
    added = calls_per_s * (live["refinement_ms"] + live["gaze_arithmetic_ms"]) / 1000
    figures["facemesh_calls_per_s"] = round(calls_per_s, 2)
    figures["added_core_per_live_stream"] = round(added, 4)
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
