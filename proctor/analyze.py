"""Offline analysis of a recorded exam: recording + reference photo + policy → events, score, evidence."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2

from footprint import jsonlimits
from models import REGISTRY
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, TimedIdentityCheck, enroll_reference
from proctor.analyzers.sessionfaces import SessionFace
from proctor.decode import MIN_RECORDING_S, RecordingInfo, iter_audio, iter_frames, probe
from proctor.errors import InputError, ReferencePhotoError
from proctor.events.event import Event
from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk, Image
from proctor.images import decode_photo
from proctor.pipeline import StageCounts
from proctor.policy import Policy
from proctor.roomscan import ScanWindow
from proctor.roomscan.windows import check_windows
from proctor.score import Score, compute_score
from proctor.stream import AudioWindower, StreamAnalysis

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
"""Called with the recording time (seconds) analysed so far."""

EVIDENCE_JPEG_QUALITY = 85


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one analysis produced, before it is written anywhere."""

    info: RecordingInfo
    policy: Policy
    events: tuple[Event, ...]
    score: Score
    stages: StageCounts
    identity_checked: bool
    model_versions: dict[str, str] = field(default_factory=dict)
    identity_checks: tuple[TimedIdentityCheck, ...] = ()
    faces: tuple[SessionFace, ...] = ()
    """The faces seen at the candidate's place (from the identity checks): kept by the session store, not in
    report.json."""

    def report_json(self) -> dict[str, Any]:
        """The content of report.json."""
        totals: dict[str, dict[str, float]] = {}
        for event in self.events:
            entry = totals.setdefault(event.type.value, {"events": 0, "seconds": 0.0})
            entry["events"] += 1
            entry["seconds"] = round(entry["seconds"] + event.duration_s, 2)
        return {
            "recording": self.info.path.name,
            "analysed_duration_s": round(self.info.duration_s, 2),
            "policy": self.policy.name,
            "analysis_rate_hz": self.policy.analysis_rate_hz,
            "score": self.score.to_json(),
            "event_totals": totals,
            "technical_events": sum(1 for e in self.events if e.technical),
            "identity_checked": self.identity_checked,
            "identity_checks": [check.to_json() for check in self.identity_checks],
            "stages": self.stages.__dict__,
            "models": self.model_versions,
            "weights": self.policy.weights.model_dump(mode="json"),
        }


def read_image(path: Path) -> Image:
    """Read a photo as BGR; raise ReferencePhotoError if it is not a readable image of a sane size."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferencePhotoError(f"{path}: cannot read the reference photo ({exc.strerror})") from exc
    return decode_photo(data, f"{path}")


def model_versions() -> dict[str, str]:
    """Package versions and model checksums that produced a report (for reproducibility)."""
    versions = {
        name: version(name) for name in ("mediapipe", "dlib-bin", "face-recognition-models", "webrtcvad-wheels")
    }
    versions.update({model.name: model.sha256[:16] for model in REGISTRY})
    return versions


@dataclass(frozen=True)
class MediaSource:
    """One file of a recording and where it starts on the session's timeline (chunks, resumed uploads).

    `rotation` turns its frames upright when the file itself cannot say (None: the file's display matrix).
    """

    path: Path
    start_s: float = 0.0
    rotation: int | None = None


def on_timeline(chunk: AudioChunk, start_s: float) -> AudioChunk | None:
    """An audio chunk of a file moved to the session's timeline; what falls before its start is cut off."""
    t = chunk.timestamp_s + start_s
    if t >= 0:
        return AudioChunk(t, chunk.samples)
    kept = chunk.samples[int(round(-t * AUDIO_SAMPLE_RATE)) :]
    return AudioChunk(0.0, kept) if len(kept) else None


def enroll_photo(photo: Path, policy: Policy, detector: FaceDetector, encoder: FaceEncoder) -> FaceEmbedding:
    """Read and quality-check a reference photo; ReferencePhotoError says what is wrong with it."""
    return enroll_reference(read_image(photo), detector, encoder, policy.identity)


@dataclass(frozen=True)
class PreparedAnalysis:
    """A recording whose inputs all passed their checks, with the models loaded: `run` does the work."""

    info: RecordingInfo
    policy: Policy
    reference: FaceEmbedding | None
    detector: FaceDetector
    encoder: FaceEncoder | None
    scans: tuple[ScanWindow, ...]

    def run(self, progress: ProgressFn | None = None) -> AnalysisResult:
        source = MediaSource(self.info.path)
        try:
            return analyze_sources(
                [source], self.reference, self.policy, progress, self.detector, self.encoder, self.scans
            )
        finally:
            self.detector.close()


def prepare_analysis(
    recording: Path, reference_photo: Path | None, policy: Policy, scans: Sequence[ScanWindow] = ()
) -> PreparedAnalysis:
    """Check every input (recording, reference photo, scan windows) and load the models; InputError if bad."""
    info = probe(recording)
    windows = tuple(check_windows(scans))
    detector = FaceDetector(policy.faces)
    encoder = FaceEncoder() if reference_photo is not None else None
    reference = None
    if reference_photo is not None and encoder is not None:
        reference = enroll_photo(reference_photo, policy, detector, encoder)
    return PreparedAnalysis(info, policy, reference, detector, encoder, windows)


def analyze_recording(
    recording: Path,
    reference_photo: Path | None,
    policy: Policy,
    progress: ProgressFn | None = None,
    scans: Sequence[ScanWindow] = (),
) -> AnalysisResult:
    """Analyse one recorded file; raises InputError subclasses before any work when inputs are bad.

    Frames inside `scans` windows are a room scan: they are measured by the room-scan analyzer
    (coverage, people in the room) instead of being judged as exam behaviour.
    """
    return prepare_analysis(recording, reference_photo, policy, scans).run(progress)


def analyze_sources(
    sources: Sequence[MediaSource],
    reference: FaceEmbedding | None,
    policy: Policy,
    progress: ProgressFn | None = None,
    detector: FaceDetector | None = None,
    encoder: FaceEncoder | None = None,
    scans: Sequence[ScanWindow] = (),
) -> AnalysisResult:
    """Analyse the files of one session in order, on one timeline: a pure function of its inputs.

    The files are the source of a `StreamAnalysis`, the pipeline a live session feeds from its tracks.
    Time between one file's end and the next file's start is a gap the rules report as
    `video_lost` / `audio_lost` (technical, never scored).
    """
    if not sources:
        raise InputError("nothing to analyse: the session has no recording")
    infos = [probe(source.path, min_duration_s=0.0 if len(sources) > 1 else MIN_RECORDING_S) for source in sources]
    windows = check_windows(scans)
    if windows and len(sources) > 1:
        raise InputError("room-scan windows apply to a single recording, not to a chunked session")
    # within scan windows the room-scan analyzer wants its own (higher) rate; outside, the cascade samples
    rate = max(policy.analysis_rate_hz, policy.room_scan.analysis_rate_hz) if windows else policy.analysis_rate_hz
    stream = StreamAnalysis(policy, reference, detector, encoder)
    # One audio windower and one span without audio across all files: a recording cut into chunks gives the
    # same audio windows and the same `audio_lost` as the whole file (the live path windows its track alike).
    windower = AudioWindower(policy.audio.window_s)
    silent = SilentSpans(stream, policy.max_video_gap_s)
    end_s = 0.0
    try:
        for source, info in zip(sources, infos, strict=True):
            if source.start_s > end_s + policy.max_video_gap_s:
                stream.resumed()
            if info.has_audio:
                silent.flush()
                for chunk in iter_audio(source.path, policy.audio.window_s):
                    shifted = on_timeline(chunk, source.start_s)
                    if shifted is not None:
                        for window in windower.add(shifted.timestamp_s, shifted.samples):
                            stream.audio(window)
            else:
                silent.add(source.start_s, source.start_s + info.duration_s)
            keep = functools.partial(_due_on_timeline, stream, source.start_s)
            for frame in iter_frames(source.path, rate, source.rotation, keep=keep):
                t = frame.timestamp_s + source.start_s
                _follow_windows(stream, windows, t)
                stream.frame(frame.at(t))
                end_s = max(end_s, t)
                if progress is not None:
                    progress(end_s)
            end_s = max(end_s, source.start_s + info.duration_s)
        if (rest := windower.flush()) is not None:
            stream.audio(rest)
        silent.flush()
        result = stream.finish(end_s)
    finally:
        stream.close()
    return AnalysisResult(
        info=infos[0] if len(infos) == 1 else replace(infos[0], duration_s=end_s),
        policy=policy,
        events=result.events,
        score=compute_score(result.events, end_s, policy.weights),
        stages=result.stages,
        identity_checked=reference is not None,
        model_versions=model_versions(),
        identity_checks=result.identity_checks,
        faces=result.faces,
    )


class SilentSpans:
    """Files without an audio stream, joined into one `audio_lost` span while they follow each other."""

    def __init__(self, stream: StreamAnalysis, max_gap_s: float) -> None:
        self.stream = stream
        self.max_gap_s = max_gap_s
        self._span: tuple[float, float] | None = None

    def add(self, start_s: float, end_s: float) -> None:
        span = self._span
        if span is not None and start_s <= span[1] + self.max_gap_s:
            self._span = (span[0], max(span[1], end_s))
            return
        self.flush()
        self._span = (start_s, end_s)

    def flush(self) -> None:
        if self._span is not None:
            self.stream.no_audio(*self._span)
            self._span = None


def _due_on_timeline(stream: StreamAnalysis, start_s: float, t: float) -> bool:
    """Whether the session's sampler wants a file's frame at file time `t` (one sampler across all files)."""
    return stream.sampler.due(t + start_s)


def _follow_windows(stream: StreamAnalysis, windows: Sequence[ScanWindow], t: float) -> None:
    """Begin or end the room scan of a `--scan` window as the frame at `t` enters or leaves it."""
    inside = any(window.holds(t) for window in windows)
    if stream.scanning and not inside:
        stream.end_scan(t)
    elif inside and not stream.scanning:
        stream.begin_scan(t)


def write_results(result: AnalysisResult, out_dir: Path) -> None:
    """Write events.jsonl, report.json and evidence/*.jpg atomically: all of it, or nothing."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        evidence_dir = staging / "evidence"
        evidence_dir.mkdir()
        lines = []
        for number, event in enumerate(result.events, start=1):
            record = event.to_json()
            if event.evidence_image is not None:
                name = f"{number:04d}_{event.type.value}.jpg"
                ok, jpeg = cv2.imencode(".jpg", event.evidence_image, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
                if ok:
                    (evidence_dir / name).write_bytes(jpeg.tobytes())
                    record["evidence"] = f"evidence/{name}"
            lines.append(json.dumps(record, ensure_ascii=False))
        (staging / "events.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        (staging / "report.json").write_text(
            json.dumps(result.report_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace_dir(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        if not (out_dir / "report.json").exists() and any(out_dir.iterdir()):
            raise InputError(f"{out_dir} exists and is not an earlier analysis; choose another --out")
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def read_events(out_dir: Path) -> list[Event]:
    """Read events.jsonl back (for re-scoring)."""
    path = out_dir / "events.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(Event.from_json(jsonlimits.loads(line, "the event")))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{number}: not a valid event ({exc})") from exc
    return events
