"""Analysis-core benchmark: prints JSON figures (run on one core: `make bench` pins to CPU 0).

- ms per frame of each analyzer (640×360 frames of the WolfgangLanger fixture),
- analysed frames/s and the real-time factor of `analyze_recording` on that 19.7 s recording, with the
  gates of proctor/gates.py (the default) and without them,
- CPU-seconds per second of a simulated live stream at the default analysis rate (decoding every source
  frame, as a live receiver must, plus the cascade at 5 fps and the audio): the lean 320×240 stream at
  6 fps the exam page sends, and the camera's 640×480 at 15 fps as it was sent before.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import dlib
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

from models import model_path  # noqa: E402
from proctor.analyze import analyze_recording  # noqa: E402
from proctor.analyzers.audio import AudioAnalyzer  # noqa: E402
from proctor.analyzers.body import PoseEstimator  # noqa: E402
from proctor.analyzers.faces import FaceBox, FaceDetector  # noqa: E402
from proctor.analyzers.headpose import HeadPoseEstimator  # noqa: E402
from proctor.analyzers.identity import FaceEncoder, enroll_reference  # noqa: E402
from proctor.analyzers.motion import MotionMeter  # noqa: E402
from proctor.analyzers.quality import QualityConfig, measure_quality  # noqa: E402
from proctor.decode import iter_audio, iter_frames  # noqa: E402
from proctor.events.detector import EventDetector  # noqa: E402
from proctor.frames import Frame, bgr_to_rgb  # noqa: E402
from proctor.gates import GatesConfig  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from proctor.pipeline import CandidateAnalyzer  # noqa: E402
from proctor.policy import PRESETS  # noqa: E402
from tests.fixtures.fetch import media_path  # noqa: E402

_DLIB_SHAPES = dlib.shape_predictor(str(model_path("dlib_shape_predictor_5")))
_DLIB_NETWORK = dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet")))

RECORDING = "WolfgangLanger_Pexels.mp4"


def per_frame_ms(images: list[np.ndarray], fn: Callable[[np.ndarray], object]) -> float:
    fn(images[0])  # warm-up
    start = time.process_time()
    for image in images:
        fn(image)
    return round(1000 * (time.process_time() - start) / len(images), 2)


def dlib_descriptor(image: np.ndarray, box: FaceBox) -> object:
    """The same embedding by dlib's own network (the prebuilt wheel computes it without BLAS): the figure
    proctor/analyzers/face_resnet.py is measured against."""
    rgb = bgr_to_rgb(image)
    rect = dlib.rectangle(int(box.x), int(box.y), int(box.x + box.width), int(box.y + box.height))
    return _DLIB_NETWORK.compute_face_descriptor(rgb, _DLIB_SHAPES(rgb, rect), 0)


def analyzer_costs(images: list[np.ndarray]) -> dict[str, object]:
    detector, near, head, pose, encoder, motion = (
        FaceDetector(),
        FaceDetector(short_range=True),
        HeadPoseEstimator(),
        PoseEstimator(),
        FaceEncoder(),
        MotionMeter(),
    )
    box = detector.detect(images[0]).largest
    if box is None:
        raise SystemExit("benchmark recording shows no face")
    audio = AudioAnalyzer()
    chunks = list(iter_audio(media_path("speech_60s.wav"), 1.0))
    start = time.process_time()
    for chunk in chunks:
        audio.observe(chunk)
    audio_ms = 1000 * (time.process_time() - start) / sum(c.duration_s for c in chunks)
    return {
        "quality_ms": per_frame_ms(images, lambda im: measure_quality(im, QualityConfig())),
        "motion_ms": per_frame_ms(images, motion.measure),
        "faces_blazeface_ms": per_frame_ms(images, detector.detect),
        "faces_blazeface_short_range_ms": per_frame_ms(images, near.detect),
        "head_pose_facemesh_ms": per_frame_ms(images, head.estimate),
        "body_pose_ms": per_frame_ms(images, pose.observe),
        "identity_dlib_ms": per_frame_ms(images[:10], lambda im: encoder.encode(im, box)),
        "identity_dlib_own_network_ms": per_frame_ms(images[:10], lambda im: dlib_descriptor(im, box)),
        "audio_ms_per_s": round(audio_ms, 2),
    }


def model_load_s() -> float:
    """Wall time to load every model once (paid once per worker process, not per recording second)."""
    start = time.perf_counter()
    candidate = CandidateAnalyzer(PRESETS["interim"], None, encoder=FaceEncoder())
    candidate.close()
    return time.perf_counter() - start


def offline(recording: Path, reference: Path, gates: GatesConfig) -> dict[str, object]:
    load = model_load_s()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    result = analyze_recording(recording, reference, PRESETS["interim"].model_copy(update={"gates": gates}))
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    return {
        "recording_s": round(result.info.duration_s, 2),
        "analysed_frames": result.stages.frames,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "frames_per_s": round(result.stages.frames / wall, 1),
        "real_time_factor": round(result.info.duration_s / wall, 1),
        "model_load_s": round(load, 2),
        "steady_real_time_factor": round(result.info.duration_s / max(wall - load, 1e-3), 1),
        "cost_share": {
            "face_detection_runs": result.stages.face_detection,
            "near_face_detection_runs": result.stages.near_face_detection,
            "head_pose_runs": result.stages.head_pose,
            "pose_runs": result.stages.pose,
            "identity_runs": result.stages.identity,
        },
    }


def live(recording: Path, reference_image: np.ndarray, size: tuple[int, int], fps: float) -> dict[str, object]:
    """Simulate one live stream of `size` at `fps`: decode every frame (as a receiver must), analyse 5 fps."""
    policy = PRESETS["interim"]
    detector, encoder = FaceDetector(policy.faces), FaceEncoder()
    reference = enroll_reference(reference_image, detector, encoder, policy.identity)
    candidate = CandidateAnalyzer(policy, reference, detector=detector, encoder=encoder)
    events, audio = EventDetector(policy), AudioAnalyzer(policy.audio)
    chunks = list(iter_audio(media_path("speech_60s.wav"), 1.0))
    period = 1.0 / policy.analysis_rate_hz
    next_t = 0.0
    start = time.process_time()
    seconds = 0.0
    for frame in iter_frames(recording, fps):  # every frame the browser sends is decoded
        rgb = np.ascontiguousarray(cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        seconds = frame.timestamp_s
        if frame.timestamp_s + 1e-6 >= next_t:
            next_t += period
            analysed = Frame.from_rgb(frame.index, frame.timestamp_s, rgb)
            events.feed_visual(candidate.analyze(analysed), analysed.image)
    for chunk in chunks[: int(seconds) + 1]:
        events.feed_audio(audio.observe(chunk))
    cpu = time.process_time() - start
    return {"stream_s": round(seconds, 2), "cpu_s": round(cpu, 2), "cores_per_stream": round(cpu / seconds, 3)}


def main() -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    recording = media_path(RECORDING)
    frames = [f for f in iter_frames(recording, 5.0)]
    images = [f.image for f in frames[:60]]
    reference_image = next(f.image for f in frames if f.timestamp_s >= 13.0)
    reference = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_reference.jpg"
    cv2.imwrite(str(reference), reference_image)
    affinity = sorted(os.sched_getaffinity(0))
    figures = {
        "cpus": affinity,
        "per_frame_640x360": analyzer_costs(images),
        "offline": offline(recording, reference, GatesConfig()),
        "offline_ungated": offline(recording, reference, GatesConfig(near_faces=False, calm_head=False)),
        "live_lean_320x240_6fps": live(recording, reference_image, (320, 240), 6.0),
        "live_640x480_15fps": live(recording, reference_image, (640, 480), 15.0),
        "targets": {"offline_real_time_factor": 20.0, "live_cores_per_stream": 0.10},
    }
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    if len(os.sched_getaffinity(0)) > 1 and os.environ.get("BENCH_ALL_CORES") != "1":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.exit(main())
