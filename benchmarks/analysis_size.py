"""How small the live analysis stream may be: the models on the test recordings at each width; prints JSON.

    python -m benchmarks.analysis_size                 # widths 640, 480, 320, 256; about two minutes
    python -m benchmarks.analysis_size --widths 640,320

Each recording is read at the analysis rate (5 frames a second) and every frame scaled down to each width
(as the browser's encoder does with `scaleResolutionDownBy`), then given to the same models as the live
analysis. For every width below the first (the reference), per recording:

- `face_count_agreement`: share of frames where BlazeFace counts as many faces as at the reference width;
- `yaw_error_deg` / `pitch_error_deg`: median and p95 of the head pose's difference from the reference's;
- `identity_distance_error`: median and max of the difference of the dlib distance to the enrolled photo;
- `identity_decision_agreement`: share of identity checks whose match / no-match is the reference's.

The recordings: the demo exam (every kind of event in 30 s), the two-people scenario, and a real Pexels
webcam-style clip (tests/fixtures). The live stream's width (`web/live/stream.py`) is chosen from this table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from proctor.analyzers.faces import FaceDetector  # noqa: E402
from proctor.analyzers.headpose import HeadPoseEstimator  # noqa: E402
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, compare, enroll_reference  # noqa: E402
from proctor.decode import iter_frames  # noqa: E402
from proctor.frames import Image  # noqa: E402
from proctor.images import decode_photo  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from proctor.policy import PRESETS  # noqa: E402
from tests.fixtures.fetch import media_path  # noqa: E402
from tests.fixtures.scenarios import build_demo, build_two_people  # noqa: E402

RATE_HZ = 5.0


def scaled(image: Image, width: int) -> Image:
    if width >= image.shape[1]:
        return image
    height = round(image.shape[0] * width / image.shape[1]) // 2 * 2
    return np.ascontiguousarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def measure(
    frames: list[Image], width: int, detector: FaceDetector, encoder: FaceEncoder, reference: FaceEmbedding
) -> dict[str, list[Any]]:
    """Per frame: the face count, the head pose (yaw, pitch) or None, the identity distance or None."""
    policy = PRESETS["interim"]
    head = HeadPoseEstimator()
    counts: list[int] = []
    poses: list[tuple[float, float] | None] = []
    distances: list[float | None] = []
    try:
        for original in frames:
            image = scaled(original, width)
            faces = detector.detect(image)
            counts.append(faces.count)
            pose = head.estimate(image) if faces.count else None
            poses.append((pose.yaw, pose.pitch) if pose is not None else None)
            if faces.count == 1:
                distances.append(compare(reference, encoder.encode(image, faces.faces[0]), policy.identity).distance)
            else:
                distances.append(None)
    finally:
        head.close()
    return {"counts": counts, "poses": poses, "distances": distances}


def compared(base: dict[str, list[Any]], other: dict[str, list[Any]], match_distance: float) -> dict[str, Any]:
    def spread(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2)}

    pairs = [(a, b) for a, b in zip(base["poses"], other["poses"], strict=True) if a is not None and b is not None]
    distances = [
        (a, b) for a, b in zip(base["distances"], other["distances"], strict=True) if a is not None and b is not None
    ]
    errors = [abs(a - b) for a, b in distances]
    agreement = [a == b for a, b in zip(base["counts"], other["counts"], strict=True)]
    decisions = [(a <= match_distance) == (b <= match_distance) for a, b in distances]
    return {
        "frames": len(agreement),
        "face_count_agreement": round(float(np.mean(agreement)), 3),
        "yaw_error_deg": spread([abs(a[0] - b[0]) for a, b in pairs]),
        "pitch_error_deg": spread([abs(a[1] - b[1]) for a, b in pairs]),
        "identity_checks": len(distances),
        "identity_distance_error": (
            {"median": round(float(np.median(errors)), 3), "max": round(float(np.max(errors)), 3)} if errors else None
        ),
        "identity_decision_agreement": round(float(np.mean(decisions)), 3) if decisions else None,
    }


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m benchmarks.analysis_size")
    parser.add_argument("--widths", default="640,480,320,256", help="comma-separated; the first is the reference")
    args = parser.parse_args(argv)
    try:
        widths = [int(width) for width in args.widths.split(",")]
    except ValueError:
        parser.error("--widths takes whole numbers separated by commas, e.g. 640,320")
    if len(widths) < 2 or any(width < 64 for width in widths):
        parser.error("--widths needs a reference and at least one other width, each at least 64")
    policy = PRESETS["interim"]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        demo = build_demo(Path(folder) / "demo")
        two = build_two_people(Path(folder) / "two")
        clips = {
            "demo": demo.video,
            "two_people": two.video,
            "pexels_webcam": media_path("WolfgangLanger_Pexels.mp4"),
        }
        detector, encoder = FaceDetector(policy.faces), FaceEncoder()
        photo = decode_photo(demo.reference.read_bytes(), "the demo's reference photo")
        reference = enroll_reference(photo, detector, encoder, policy.identity)
        for name, path in clips.items():
            print(f"measuring {name} at widths {widths}", file=sys.stderr)
            frames = [frame.image for frame in iter_frames(path, RATE_HZ)]
            base = measure(frames, widths[0], detector, encoder, reference)
            for width in widths[1:]:
                other = measure(frames, width, detector, encoder, reference)
                rows.append(
                    {"recording": name, "width": width, "reference_width": widths[0]}
                    | compared(base, other, policy.identity.match_distance)
                )
        detector.close()
    print(json.dumps({"benchmark": "analysis_size", "rate_hz": RATE_HZ, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
