"""Decoding of recorded files with PyAV: upright video frames at the analysis rate and 16 kHz mono audio.

Both streams are timed from one origin, the start of the video stream, so a file cut out of a longer
recording (a kept chunk) gives times relative to its own first video frame for video and audio alike.
Frames are turned upright by the file's display matrix (phones record sideways and say so), or by a
rotation given by the caller when the container could not keep that matrix (MPEG-TS chunks).
Error messages name the file as the caller asks (`name`), never a server's internal path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from proctor.errors import RecordingError
from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk, Frame, Image

logger = logging.getLogger(__name__)

MAX_FRAME_PIXELS = 4096 * 4096
"""Largest video frame decoded (16.8 megapixels, above 4K); larger declared sizes are refused unread."""

MIN_RECORDING_S = 1.0
"""Shortest video accepted as a recording."""

STILL_IMAGE_FORMATS = frozenset({"image2", "gif", "apng", "webp", "ico", "bmp"})

_ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, -90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180}


@dataclass(frozen=True)
class RecordingInfo:
    """What a recording holds, read from its container (one frame decoded for its rotation)."""

    path: Path
    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool
    video_codec: str
    rotation: int = 0
    """Counter-clockwise degrees (0, 90, 180, -90) that turn decoded frames upright; width/height are upright."""


def probe(path: Path, name: str | None = None, min_duration_s: float = MIN_RECORDING_S) -> RecordingInfo:
    """Describe a recording; raise RecordingError if it is not a video of at least `min_duration_s` seconds.

    Still images, frames larger than MAX_FRAME_PIXELS and files without a video stream are refused
    before any frame is decoded. (Kept chunks of a longer recording are probed with no minimum.)
    """
    label = name or str(path)
    container = _open(path, label)
    with container:
        stream = _video_stream(container, label)
        if container.format.name in STILL_IMAGE_FORMATS or container.format.name.endswith("_pipe"):
            raise RecordingError(f"{label}: a still image ({container.format.name}) is not a recording")
        duration = _duration_s(container, stream)
        if duration < min_duration_s:
            raise RecordingError(f"{label}: {duration:.2f} s of video is too short to be a recording")
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        rotation = _first_rotation(container, stream, label)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if rotation in (90, -90):
            width, height = height, width
        return RecordingInfo(
            path=path,
            duration_s=duration,
            width=width,
            height=height,
            fps=float(rate),
            has_audio=bool(container.streams.audio),
            video_codec=str(stream.codec_context.name),
            rotation=rotation,
        )


def iter_frames(
    path: Path,
    rate_hz: float | None = None,
    rotation: int | None = None,
    name: str | None = None,
    keep: Callable[[float], bool] | None = None,
) -> Iterator[Frame]:
    """Yield upright BGR frames, keeping at most `rate_hz` per second of recording (all frames if None).

    Frames are chosen by timestamp, so variable frame rates and odd source rates still give an even
    analysis rate; `keep(t)` chooses instead when given (a session's own sampler, across its files).
    `rotation` overrides the file's display matrix. A decoding error mid-stream raises RecordingError
    (a truncated or corrupt file).
    """
    label = name or str(path)
    period = 1.0 / rate_hz if rate_hz else 0.0
    next_t = 0.0
    index = 0
    container = _open(path, label)
    with container:
        stream = _video_stream(container, label)
        stream.thread_type = "AUTO"
        origin = _origin_s(container)
        source_fps = float(stream.average_rate or 0)
        if rate_hz and source_fps >= 3 * rate_hz:
            # Frames no other frame refers to (B-frames) are never needed at a rate this far below the
            # source's; not decoding them saves about 40 % of the decoding time of a typical H.264 file.
            stream.codec_context.skip_frame = "NONREF"
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, stream, origin)
                if keep is not None:
                    if not keep(t):
                        continue
                elif period and t + 1e-6 < next_t:
                    continue
                else:
                    next_t = max(next_t + period, t + period / 2) if period else t
                rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                turn = _rotation(frame) if rotation is None else rotation
                yield Frame.from_rgb(index, t, upright(rgb, turn))
                index += 1
        except av.error.FFmpegError as exc:
            raise RecordingError(f"{label}: video could not be decoded after frame {index} ({exc.strerror})") from exc
    if index == 0:
        raise RecordingError(f"{label}: the video stream holds no decodable frame")


def upright(image: Image, rotation: int) -> Image:
    """The image turned by `rotation` counter-clockwise degrees (a display matrix's rotation)."""
    code = _ROTATE.get(_normalise(rotation))
    return image if code is None else np.ascontiguousarray(cv2.rotate(image, code))


def iter_audio(path: Path, chunk_s: float = 1.0, name: str | None = None) -> Iterator[AudioChunk]:
    """Yield consecutive 16 kHz mono int16 chunks of `chunk_s` seconds (the last may be shorter).

    Times share the video's origin; audio that starts before the first video frame has negative times.
    """
    label = name or str(path)
    chunk_len = int(round(chunk_s * AUDIO_SAMPLE_RATE))
    container = _open(path, label)
    with container:
        if not container.streams.audio:
            return
        origin = _origin_s(container)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_SAMPLE_RATE)
        parts: list[np.ndarray] = []
        buffered = 0
        start_s: float | None = None
        emitted = 0
        try:
            for frame in container.decode(stream):
                if start_s is None:
                    start_s = float(frame.time or 0.0) - origin
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1).astype(np.int16))
                    buffered += parts[-1].size
                if buffered >= chunk_len:
                    pending = np.concatenate(parts)
                    while len(pending) >= chunk_len:
                        yield AudioChunk(start_s + emitted / AUDIO_SAMPLE_RATE, pending[:chunk_len].copy())
                        emitted += chunk_len
                        pending = pending[chunk_len:]
                    parts, buffered = [pending], len(pending)
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1).astype(np.int16))
        except av.error.FFmpegError as exc:
            raise RecordingError(f"{label}: audio could not be decoded ({exc.strerror})") from exc
        rest = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        if len(rest) and start_s is not None:
            yield AudioChunk(start_s + emitted / AUDIO_SAMPLE_RATE, rest)


def _open(path: Path, label: str) -> av.container.InputContainer:
    if not path.is_file():
        raise RecordingError(f"{label}: no such file")
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise RecordingError(f"{label}: not a readable audio/video file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{label}: not a readable audio/video file") from exc


def _video_stream(container: av.container.InputContainer, label: str) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise RecordingError(f"{label}: the recording has no video stream")
    stream = container.streams.video[0]
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if width * height > MAX_FRAME_PIXELS:
        raise RecordingError(
            f"{label}: video frames of {width}×{height} exceed the {MAX_FRAME_PIXELS / 1e6:.1f}-megapixel limit"
        )
    return stream


def _origin_s(container: av.container.InputContainer) -> float:
    """The start of the video stream: time zero of both streams."""
    stream = container.streams.video[0] if container.streams.video else None
    if stream is None or stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _first_rotation(container: av.container.InputContainer, stream: av.video.stream.VideoStream, label: str) -> int:
    try:
        for frame in container.decode(stream):
            return _rotation(frame)
    except av.error.FFmpegError as exc:
        raise RecordingError(f"{label}: video could not be decoded ({exc.strerror})") from exc
    raise RecordingError(f"{label}: the video stream holds no decodable frame")


def _rotation(frame: av.VideoFrame) -> int:
    return _normalise(int(round(frame.rotation or 0)))


def _normalise(degrees: int) -> int:
    turned = ((degrees + 180) % 360) - 180  # -180..179
    return 180 if turned == -180 else turned


def _duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return 0.0


def _frame_time(frame: av.VideoFrame, stream: av.video.stream.VideoStream, origin: float) -> float:
    if frame.time is not None:
        return max(0.0, float(frame.time) - origin)
    rate = float(stream.average_rate or 25)
    return frame.index / rate if frame.index is not None else 0.0
