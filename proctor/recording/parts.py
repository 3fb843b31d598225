"""Checking one part of a live client's recording before anything of it is kept.

The part is read as the continuation of its run's stream (`proctor/recording/webm.py`), its blocks are placed
on the session's timeline (the run's first block at the run's declared start) and must lie inside what the
session has lived so far, and every video keyframe is decoded: it must be a picture of the codec the stream
declared, and its signature (`proctor/recording/signature.py`) is kept to compare with what the live analysis
saw. Any failure is a `PartRefused` with the reason; nothing is changed by a refused part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from proctor.recording.signature import Signature, signature_of
from proctor.recording.webm import PartRefused, Reading, StreamState, Track, WebmStream

FUTURE_SLACK_S = 5.0
"""How far past the session's present a part's media may reach (clocks and the page's time estimate differ)."""
PAST_SLACK_S = 0.5
"""How far before the session's start (or its run's start) a block may lie."""


@dataclass(frozen=True)
class Timeline:
    """Where a part must lie: the run's start on the session's timeline, its stream time at that start (None:
    this part's first block sets it), and the session's present."""

    run_start_s: float
    origin_s: float | None
    now_s: float


@dataclass(frozen=True)
class CheckedPart:
    """A part that passed: the stream's state after it, its span on the session's timeline, and the signatures
    of its keyframes (session times)."""

    state: StreamState
    origin_s: float | None
    span: tuple[float, float] | None
    samples: tuple[Signature, ...]
    keyframes: int
    pictures: tuple[Picture, ...] = ()
    """The keyframes as RGB pictures (only when asked: the side camera's analysis looks at them)."""


@dataclass(frozen=True)
class Picture:
    """A decoded keyframe at its session time, RGB (height × width × 3)."""

    at_s: float
    rgb: npt.NDArray[np.uint8]


def check_part(
    data: bytes, first: bool, state: StreamState | None, timeline: Timeline, *, pictures: bool = False
) -> CheckedPart:
    """Read, place and decode one part (see the module); PartRefused says why it cannot be kept. With `pictures`
    the decoded keyframes come back too (RGB, at most 640 px wide)."""
    reading, after = WebmStream(state).read(data, first)
    origin = timeline.origin_s
    span = reading.span
    if origin is None and span is not None:
        origin = span[0]
    placed = None
    if span is not None and origin is not None:
        placed = (timeline.run_start_s + span[0] - origin, timeline.run_start_s + span[1] - origin)
        if placed[0] < timeline.run_start_s - PAST_SLACK_S:
            raise PartRefused("the part's media lies before its run's start")
        if placed[1] > timeline.now_s + FUTURE_SLACK_S:
            raise PartRefused(
                f"the part's media reaches {placed[1]:.1f} s of the session, which has lived {timeline.now_s:.1f} s"
            )
    samples, kept = _keyframe_signatures(reading, timeline.run_start_s, origin, pictures)
    return CheckedPart(after, origin, placed, samples, len(reading.keyframes), kept)


def _keyframe_signatures(
    reading: Reading, run_start_s: float, origin: float | None, pictures: bool
) -> tuple[tuple[Signature, ...], tuple[Picture, ...]]:
    keyframes = reading.keyframes
    if not keyframes or origin is None:
        return (), ()
    found = []
    kept = []
    decoders: dict[int, Any] = {}  # PyAV's decoding contexts (its stubs type `decode` per kind)
    for block in keyframes:
        track = reading.tracks[block.track]
        decoder = decoders.get(block.track) or decoders.setdefault(block.track, _decoder(track))
        frame = _decode(decoder, block.data or b"", track)
        at_s = run_start_s + block.t_s - origin
        found.append(Signature(at_s, signature_of(luma(frame))))
        if pictures:
            width = min(frame.width, 640)
            height = max(2, round(frame.height * width / frame.width / 2) * 2)
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
            kept.append(Picture(at_s, np.asarray(rgb, dtype=np.uint8)))
    return tuple(found), tuple(kept)


def _decoder(track: Track) -> Any:
    decoder: Any = av.CodecContext.create(track.codec, "r")
    if track.private:
        decoder.extradata = track.private
    return decoder


def _decode(decoder: Any, data: bytes, track: Track) -> av.VideoFrame:
    try:
        frames = list(decoder.decode(av.Packet(data)))
        if not frames:
            frames = list(decoder.decode(None))
    except (av.error.FFmpegError, ValueError) as exc:
        raise PartRefused(f"a keyframe that does not decode as {track.codec.upper()}") from exc
    pictures = [f for f in frames if isinstance(f, av.VideoFrame)]
    if not pictures:
        raise PartRefused(f"a keyframe that gives no {track.codec.upper()} picture")
    return pictures[-1]


def luma(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """A decoded frame's brightness plane as it is (no conversion: the decoders give planar YUV)."""
    if not frame.format.name.startswith(("yuv", "yuvj", "nv12", "gray")):
        return np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
    return np.asarray(rows[:, : frame.width], dtype=np.uint8)
