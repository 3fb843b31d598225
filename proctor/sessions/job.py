"""The analysis job: a pure function of (recording chunks, reference embedding, policy) → results.

It runs in a worker process (the models are loaded there, never on the web server's event loop);
its inputs and outputs are plain picklable values so the job can be retried or moved elsewhere.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from proctor.analyze import MediaSource, analyze_sources
from proctor.analyzers.faces import FaceBox
from proctor.analyzers.identity import FaceEmbedding
from proctor.analyzers.sessionfaces import SessionFace
from proctor.policy import policy_from_dict


@dataclass(frozen=True)
class JobSource:
    """One chunk file on the session timeline, and the rotation that turns its frames upright."""

    path: str
    start_s: float
    rotation: int = 0


@dataclass(frozen=True)
class AnalysisJob:
    """Everything an analysis needs, by value."""

    session_id: str
    sources: tuple[JobSource, ...]
    embedding: bytes
    policy: dict[str, Any]
    duration_s: float
    """Length of the session's timeline (the end of its last chunk), for the share done."""


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


ProgressSink = Callable[[str, float], None]
"""Receives (session id, share of the recording analysed) while a job runs."""

PROGRESS_EVERY_S = 2.0


def run_job(job: AnalysisJob, progress: ProgressSink | None = None, every_s: float = PROGRESS_EVERY_S) -> JobResult:
    """Analyse a session's chunks (called in a worker process); `progress` hears the share done every `every_s`."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", module="google.protobuf")
    policy = policy_from_dict(job.policy, source="exam policy")
    reference = FaceEmbedding(np.frombuffer(job.embedding, dtype=np.float64).copy(), FaceBox(0, 0, 0, 0, 1.0))
    last = time.monotonic()

    def report(done_s: float) -> None:
        nonlocal last
        if progress is not None and time.monotonic() - last >= every_s and job.duration_s > 0:
            last = time.monotonic()
            progress(job.session_id, done_s / job.duration_s)

    sources = [MediaSource(Path(s.path), s.start_s, s.rotation) for s in job.sources]
    result = analyze_sources(sources, reference, policy, progress=report)
    events, evidence = [], []
    for seq, event in enumerate(result.events):
        events.append(event.to_json())
        if event.evidence_image is not None:
            ok, jpeg = cv2.imencode(".jpg", event.evidence_image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if ok:
                evidence.append(EvidenceImage(seq, jpeg.tobytes()))
    report_json = result.report_json()
    return JobResult(job.session_id, tuple(events), tuple(evidence), result.score.total, report_json, result.faces)
