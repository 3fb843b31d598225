"""Split a recording into ~10 s chunks by remuxing (no re-encoding), each with its sha256.

Chunks start on video keyframes at or after each boundary. H.264/HEVC with AAC/MP3 go into MPEG-TS,
whose chunks concatenate byte for byte into one playable stream; anything else (VP8/VP9/Opus from a
browser) goes into standalone Matroska chunks. Demuxing every packet also proves the upload is whole:
a truncated or corrupt file raises RecordingError and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from models.registry import sha256_of
from proctor.errors import RecordingError

TS_VIDEO = {"h264", "hevc"}
TS_AUDIO = {"aac", "mp3", "mp2"}


@dataclass(frozen=True)
class Chunk:
    """One stored piece of a recording."""

    index: int
    path: Path
    start_s: float
    duration_s: float
    sha256: str
    size: int
    container: str


def segment_recording(
    source: Path, out_dir: Path, chunk_s: float = 10.0, first_index: int = 0, name: str | None = None
) -> list[Chunk]:
    """Remux `source` into chunks in `out_dir` (created); all-or-nothing. Errors name the file as `name`."""
    label = name or source.name
    try:
        container = av.open(str(source), mode="r")
    except av.error.FFmpegError as exc:
        raise RecordingError(f"{label}: not a readable audio/video file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{label}: not a readable audio/video file") from exc
    staging = Path(tempfile.mkdtemp(prefix=".chunks.", dir=out_dir.parent if out_dir.parent.exists() else None))
    try:
        with container:
            chunks = _remux(container, label, staging, chunk_s, first_index)
        out_dir.mkdir(parents=True, exist_ok=True)
        placed = []
        for chunk in chunks:
            target = out_dir / chunk.path.name
            shutil.move(chunk.path, target)
            placed.append(
                Chunk(chunk.index, target, chunk.start_s, chunk.duration_s, chunk.sha256, chunk.size, chunk.container)
            )
        return placed
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remux(container: av.container.InputContainer, name: str, staging: Path, chunk_s: float, first: int) -> list[Chunk]:
    if not container.streams.video:
        raise RecordingError(f"{name}: the recording has no video stream")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    streams = [s for s in (video, audio) if s is not None]
    ts = video.codec_context.name in TS_VIDEO and (audio is None or audio.codec_context.name in TS_AUDIO)
    fmt, suffix = ("mpegts", "ts") if ts else ("matroska", "mkv")
    origin = float(video.start_time * video.time_base) if video.start_time is not None and video.time_base else 0.0

    chunks: list[Chunk] = []
    output: av.container.OutputContainer | None = None
    mapping: dict[int, av.stream.Stream] = {}
    start_s = last_s = 0.0
    boundary = 0.0
    packets = 0

    def close() -> None:
        nonlocal output
        if output is None:
            return
        output.close()
        path = staging / f"chunk_{first + len(chunks):05d}.{suffix}"
        chunks.append(
            Chunk(
                first + len(chunks),
                path,
                start_s,  # exact: a frame's time on the session's timeline is this plus its time in the chunk
                max(0.0, last_s - start_s),
                sha256_of(path),
                path.stat().st_size,
                fmt,
            )
        )
        output = None

    try:
        for packet in container.demux(*streams):
            if packet.dts is None or packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base) - origin
            if packet.stream.index == video.index and packet.is_keyframe and (output is None or t >= boundary):
                close()
                path = staging / f"chunk_{first + len(chunks):05d}.{suffix}"
                output = av.open(str(path), mode="w", format=fmt)
                mapping = {s.index: output.add_stream_from_template(s) for s in streams}
                start_s, boundary = max(0.0, t), max(0.0, t) + chunk_s
            if output is None:
                continue  # audio before the first keyframe
            last_s = max(last_s, t + float((packet.duration or 0) * packet.time_base))
            packet.stream = mapping[packet.stream.index]
            output.mux(packet)
            packets += 1
        close()
    except av.error.FFmpegError as exc:
        raise RecordingError(f"{name}: the recording is corrupt or truncated ({exc.strerror})") from exc
    if not chunks or packets == 0:
        raise RecordingError(f"{name}: the recording holds no video keyframe")
    return chunks
