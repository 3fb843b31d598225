"""The analysis job: a pure function of (recording chunks, reference embedding, policy) → results.

Without a reference embedding (a candidate enrolled without a photo) the analysis runs without identity checks:
its report says `identity_checked: false`, and nothing of it counts against the candidate.

It runs in a worker process (the models are loaded there, never on the web server's event loop) — a
process of the local pool or a Ray actor on another machine; its inputs and outputs are plain picklable
values (the chunks by storage key, the store by `StorageSpec`) so the job can be retried or moved
elsewhere. A worker keeps `WarmModels` across jobs, so the models are loaded once per process.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from proctor.analyze import MediaSource, analyze_sources
from proctor.analyzers.faces import FaceBox, FaceDetector, FacesConfig
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder
from proctor.analyzers.sessionfaces import SessionFace
from proctor.policy import policy_from_dict
from proctor.recording.storage import StorageSpec, open_storage


@dataclass(frozen=True)
class JobSource:
    """One chunk on the session timeline, and the rotation that turns its frames upright."""

    path: str
    """The chunk's storage key when the job names its store (`AnalysisJob.storage`), else a local file."""
    start_s: float
    rotation: int = 0


@dataclass(frozen=True)
class AnalysisJob:
    """Everything an analysis needs, by value."""

    session_id: str
    sources: tuple[JobSource, ...]
    embedding: bytes | None
    """The candidate's enrolled reference; None when they have no reference photo (identity is not checked)."""
    policy: dict[str, Any]
    duration_s: float
    """Length of the session's timeline (the end of its last chunk), for the share done."""
    storage: StorageSpec | None = None
    """The store holding the chunks; None when the sources are local files (tests, the CLI)."""
    claim: str = ""
    """The start of the job this is (see `Analyses.claim`): a result is kept only while the claim holds."""
    deadline_s: float = 0.0
    """Seconds this start may run before its worker is stopped and the job given back (0: no limit)."""
    attempt: int = 1
    """Which start of the job this is (1 for the first)."""


@dataclass(frozen=True)
class EvidenceImage:
    """The JPEG of an event's peak frame, by event sequence number."""

    seq: int
    jpeg: bytes


@dataclass(frozen=True)
class JobResult:
    """What the analysis produced: events as JSON, their evidence, score and report, and the faces seen."""

    session_id: str
    events: tuple[dict[str, Any], ...]
    evidence: tuple[EvidenceImage, ...]
    score: float
    report: dict[str, Any]
    faces: tuple[SessionFace, ...] = ()
    worker: str = ""
    """Where it ran (`local:HOST:PID`, `ray:NODE:PID`)."""


ProgressSink = Callable[[str, float], None]
"""Receives (session id, share of the recording analysed) while a job runs."""

PROGRESS_EVERY_S = 2.0


class WarmModels:
    """The models a worker process keeps between jobs: the face encoder (dlib) and a face detector per
    detector configuration; the per-session models (head pose, body) are made for each job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encoder: FaceEncoder | None = None
        self._detectors: dict[FacesConfig, FaceDetector] = {}

    def encoder(self) -> FaceEncoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = FaceEncoder()
            return self._encoder

    def detector(self, config: FacesConfig) -> FaceDetector:
        with self._lock:
            if config not in self._detectors:
                self._detectors[config] = FaceDetector(config)
            return self._detectors[config]


def run_job(
    job: AnalysisJob,
    progress: ProgressSink | None = None,
    every_s: float = PROGRESS_EVERY_S,
    models: WarmModels | None = None,
    worker: str = "",
) -> JobResult:
    """Analyse a session's chunks (called in a worker process); `progress` hears the share done every `every_s`.

    With `models`, the models warm from earlier jobs are used (and kept warm for the next); `worker` names
    this process in the result."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", module="google.protobuf")
    policy = policy_from_dict(job.policy, source="exam policy")
    reference = None
    if job.embedding is not None:
        reference = FaceEmbedding(np.frombuffer(job.embedding, dtype=np.float64).copy(), FaceBox(0, 0, 0, 0, 1.0))
    last = time.monotonic()

    def report(done_s: float) -> None:
        nonlocal last
        if progress is not None and time.monotonic() - last >= every_s and job.duration_s > 0:
            last = time.monotonic()
            progress(job.session_id, done_s / job.duration_s)

    detector = models.detector(policy.faces) if models is not None else None
    encoder = models.encoder() if models is not None else None
    with contextlib.ExitStack() as files:
        if job.storage is None:
            paths = [Path(s.path) for s in job.sources]
        else:
            storage = open_storage(job.storage)
            paths = [files.enter_context(storage.as_file(s.path)) for s in job.sources]
        sources = [MediaSource(path, s.start_s, s.rotation) for path, s in zip(paths, job.sources, strict=True)]
        result = analyze_sources(sources, reference, policy, progress=report, detector=detector, encoder=encoder)
    events, evidence = [], []
    for seq, event in enumerate(result.events):
        events.append(event.to_json())
        if event.evidence_image is not None:
            ok, jpeg = cv2.imencode(".jpg", event.evidence_image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if ok:
                evidence.append(EvidenceImage(seq, jpeg.tobytes()))
    report_json = result.report_json()
    done = JobResult(job.session_id, tuple(events), tuple(evidence), result.score.total, report_json, result.faces)
    return replace(done, worker=worker) if worker else done
