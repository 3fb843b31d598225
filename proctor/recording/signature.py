"""Compact signatures of video frames, to check that a kept recording shows what the live analysis saw.

A signature is the frame's brightness scaled down to 16 × 12 pixels (192 bytes): it survives another encoder,
another bitrate and another frame size of the same camera picture, and it tells apart two different pictures.
The live analysis keeps one for every frame it receives; every keyframe of the recording the browser sends
gets one too; `check_samples` compares each recording sample with what the analysis saw within a short
window of the same moment (the two clocks agree within a fraction of a second), and `mismatch_spans` gathers
the samples that match nothing into spans for the examiner.

Measured on the test recordings (`README`, "The kept recording is checked"): the same camera picture through
two encoders at 250 and 900 kbit/s compares at 0.999 or more; another recording of the same room at another
moment falls below 0.9 at 17 to 46 % of the samples, another person's recording at 75 %.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

WIDTH, HEIGHT = 16, 12
SIZE = WIDTH * HEIGHT
FLAT = 2.0
"""A signature whose brightness varies less than this (a black or covered picture) has no shape to correlate."""
FLAT_TOLERANCE = 16.0
"""Two flat pictures are the same when their brightness differs by at most this."""
_RECORD = struct.Struct(f"<d{SIZE}s")


@dataclass(frozen=True)
class Signature:
    """A frame's signature at a moment of the session's timeline."""

    at_s: float
    thumb: bytes


def signature_of(gray: npt.NDArray[np.uint8]) -> bytes:
    """The signature of a frame's brightness (its luma plane, any size)."""
    small = cv2.resize(gray, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return bytes(np.ascontiguousarray(small, dtype=np.uint8).tobytes())


def similarity(first: bytes, second: bytes) -> float:
    """How alike two signatures are, from 0 to 1: their correlation; two flat pictures by their brightness."""
    a = np.frombuffer(first, dtype=np.uint8).astype(np.float64)
    b = np.frombuffer(second, dtype=np.uint8).astype(np.float64)
    spread_a, spread_b = float(a.std()), float(b.std())
    if spread_a < FLAT and spread_b < FLAT:
        return 1.0 if abs(float(a.mean()) - float(b.mean())) <= FLAT_TOLERANCE else 0.0
    if spread_a < FLAT or spread_b < FLAT:
        return 0.0
    correlation = float(np.dot(a - a.mean(), b - b.mean()) / (a.size * spread_a * spread_b))
    return max(0.0, min(1.0, correlation))


def pack(signatures: Sequence[Signature]) -> bytes:
    """Signatures as stored: a time (float64) and 192 bytes each."""
    return b"".join(_RECORD.pack(s.at_s, s.thumb) for s in signatures)


def unpack(data: bytes) -> list[Signature]:
    if len(data) % _RECORD.size:
        raise ValueError("stored signatures are cut short")
    return [Signature(at, thumb) for at, thumb in _RECORD.iter_unpack(data)]


@dataclass(frozen=True)
class SampleCheck:
    """A recording sample compared: its best similarity with what the analysis saw near its moment (None when
    the analysis saw nothing then: a gap in the live stream, so nothing can be said)."""

    at_s: float
    similarity: float | None


def check_samples(samples: Sequence[Signature], seen: Sequence[Signature], window_s: float) -> list[SampleCheck]:
    """Each sample against the analysis's signatures within `window_s` of its moment (`seen` in time order)."""
    times = [s.at_s for s in seen]
    checks = []
    for sample in samples:
        low = bisect.bisect_left(times, sample.at_s - window_s)
        high = bisect.bisect_right(times, sample.at_s + window_s)
        near = [similarity(sample.thumb, seen[i].thumb) for i in range(low, high)]
        checks.append(SampleCheck(sample.at_s, max(near) if near else None))
    return checks


@dataclass(frozen=True)
class MismatchSpan:
    """Recording samples in a row that match nothing the analysis saw: where, how many, how alike at best."""

    start_s: float
    end_s: float
    samples: int
    best: float
    """The highest similarity of its samples (all below the threshold)."""


def mismatch_spans(
    checks: Sequence[SampleCheck], min_similarity: float, min_samples: int, join_s: float
) -> list[MismatchSpan]:
    """Runs of at least `min_samples` compared samples below `min_similarity`; a run ends at a sample that matches
    or after `join_s` without a compared sample. Samples that could not be compared neither end nor make a run."""
    spans: list[MismatchSpan] = []
    run: list[SampleCheck] = []

    def close() -> None:
        if len(run) >= min_samples:
            best = max(c.similarity or 0.0 for c in run)
            spans.append(MismatchSpan(run[0].at_s, run[-1].at_s, len(run), best))
        run.clear()

    for check in sorted(checks, key=lambda c: c.at_s):
        if check.similarity is None:
            continue
        if run and check.at_s - run[-1].at_s > join_s:
            close()
        if check.similarity < min_similarity:
            run.append(check)
        else:
            close()
    close()
    return spans
