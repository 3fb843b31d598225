"""One playable file from a session's kept pieces, by remuxing (never re-encoding).

A session's recording is kept as pieces: MPEG-TS or Matroska chunks of uploads, each playable alone,
and parts of a live client's runs, which play only joined. Playback joins each run, places every piece
at its time on the session's timeline and writes one file a browser plays and seeks: MP4 for H.264,
WebM for VP8/VP9, Matroska otherwise. A gap (a lost connection) stays a gap in time.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from proctor.errors import RecordingError

logger = logging.getLogger(__name__)

MP4_VIDEO = {"h264", "hevc"}
WEBM_VIDEO = {"vp8", "vp9", "av1"}


@dataclass(frozen=True)
class Piece:
    """Files whose bytes, joined in order, form one stream, and where it starts on the session's timeline: its
    first packet lies at `start_s`, or, with `origin_s`, the stream time `origin_s` does (a run that goes on after
    a lost part); `end_s` is where it ends, when known (for reports)."""

    files: tuple[Path, ...]
    start_s: float
    rotation: int = 0
    origin_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class SkippedPiece:
    """Something of the recording that playback had to leave out: where on the timeline, and why."""

    start_s: float
    end_s: float | None
    reason: str

    def to_json(self) -> dict[str, object]:
        end = None if self.end_s is None else round(self.end_s, 3)
        return {"start_s": round(self.start_s, 3), "end_s": end, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SkippedPiece:
        end = data.get("end_s")
        return cls(float(str(data["start_s"])), None if end is None else float(str(end)), str(data["reason"]))


@dataclass(frozen=True)
class Built:
    """A playback file written: its format, and the pieces left out of it."""

    format: PlaybackFormat
    skipped: tuple[SkippedPiece, ...]


@dataclass(frozen=True)
class PlaybackFormat:
    container: str
    suffix: str
    media_type: str


def playback_format(video_codec: str) -> PlaybackFormat:
    """The container a browser plays for this video codec."""
    if video_codec in MP4_VIDEO:
        return PlaybackFormat("mp4", "mp4", "video/mp4")
    if video_codec in WEBM_VIDEO:
        return PlaybackFormat("webm", "webm", "video/webm")
    return PlaybackFormat("matroska", "mkv", "video/x-matroska")


def video_codec_of(piece: Piece, scratch: Path) -> str:
    """The video codec of a piece (RecordingError if it has no readable video)."""
    with _joined(piece, scratch) as path, _open(path) as container:
        if not container.streams.video:
            raise RecordingError("a kept piece of the recording has no video")
        return str(container.streams.video[0].codec_context.name)


def build_playback(pieces: Sequence[Piece], out: Path) -> Built:
    """Write the pieces as one file at `out` (created atomically). A piece that cannot be read, or whose video is
    of another codec than the first readable piece's, is left out and named in the answer; RecordingError when
    nothing playable is left."""
    if not pieces:
        raise RecordingError("no recording is kept")
    scratch = Path(tempfile.mkdtemp(prefix=".playback.", dir=out.parent))
    skipped: list[SkippedPiece] = []
    try:
        codec, first = _first_readable(pieces, scratch)
        fmt = playback_format(codec)
        partial = scratch / f"out.{fmt.suffix}"
        options = {"movflags": "+faststart"} if fmt.container == "mp4" else {}
        with av.open(str(partial), mode="w", format=fmt.container, options=options) as output:
            writer = _Writer(output, codec, first.rotation)
            for piece in sorted(pieces, key=lambda p: p.start_s):
                try:
                    with _joined(piece, scratch) as path:
                        writer.add(path, piece.start_s, piece.origin_s)
                except RecordingError as exc:
                    skipped.append(SkippedPiece(piece.start_s, piece.end_s, str(exc)))
                    logger.warning("playback leaves out a piece at %.1f s: %s", piece.start_s, exc)
            if writer.packets == 0:
                raise RecordingError("no packet of the recording could be kept")
        partial.replace(out)
        return Built(fmt, tuple(skipped))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _first_readable(pieces: Sequence[Piece], scratch: Path) -> tuple[str, Piece]:
    problem: RecordingError | None = None
    for piece in sorted(pieces, key=lambda p: p.start_s):
        try:
            return video_codec_of(piece, scratch), piece
        except RecordingError as exc:
            problem = exc
    raise problem or RecordingError("no recording is kept")


class _Writer:
    """Copies packets of successive pieces into one output, shifted onto the session's timeline."""

    def __init__(self, output: av.container.OutputContainer, codec: str, rotation: int) -> None:
        self.output = output
        self.codec = codec
        self.rotation = rotation
        self.video: Any = None  # output streams (PyAV's stream types differ per kind)
        self.audio: Any = None
        self.audio_codec: str | None = None
        self._last_dts: dict[str, float] = {}
        self.packets = 0

    def add(self, path: Path, start_s: float, origin_s: float | None = None) -> None:
        """Copy a piece's packets, its first packet (or its stream time `origin_s`) placed at `start_s`;
        RecordingError when the piece cannot be used at all."""
        with _open(path) as source:
            if not source.streams.video or source.streams.video[0].codec_context.name != self.codec:
                raise RecordingError("a piece of the recording in another format")
            video = source.streams.video[0]
            audio = source.streams.audio[0] if source.streams.audio else None
            self._streams(video, audio)
            streams = [s for s in (video, audio) if s is not None]
            origin: float | None = origin_s
            try:
                for packet in source.demux(*streams):
                    if packet.dts is None or packet.pts is None or packet.time_base is None:
                        continue
                    if origin is None:
                        origin = float(packet.pts * packet.time_base)
                    self._write(packet, packet.pts, packet.dts, start_s - origin)
            except av.error.FFmpegError as exc:
                logger.warning("a piece of the recording ends early (%s); kept up to there", exc.strerror)

    def _streams(self, video: av.stream.Stream, audio: av.stream.Stream | None) -> None:
        if self.video is None:
            self.video = self.output.add_stream_from_template(video)
            if self.rotation:
                self.video.set_display_rotation(self.rotation)
        if audio is not None and self.audio is None and self.packets == 0:
            self.audio = self.output.add_stream_from_template(audio)
            self.audio_codec = audio.codec_context.name

    def _write(self, packet: Any, pts: int, dts: int, shift_s: float) -> None:
        kind = packet.stream.type
        target = self.video if kind == "video" else self.audio
        if target is None or (kind == "audio" and packet.stream.codec_context.name != self.audio_codec):
            return
        base = Fraction(packet.time_base)
        shift = int(round(shift_s / base)) if base else 0
        dts_s = float((dts + shift) * base)
        if dts_s <= self._last_dts.get(kind, -1e18):
            return  # pieces overlap in time: the earlier one is kept
        self._last_dts[kind] = dts_s
        packet.pts = pts + shift
        packet.dts = dts + shift
        packet.time_base = base
        packet.stream = target
        self.output.mux(packet)
        self.packets += 1


class _joined:  # noqa: N801 (a context manager used like a function)
    """The path of a piece's joined bytes: its one file, or the files copied into one scratch file."""

    def __init__(self, piece: Piece, scratch: Path) -> None:
        self.piece = piece
        self.scratch = scratch
        self._made: Path | None = None

    def __enter__(self) -> Path:
        if len(self.piece.files) == 1:
            return self.piece.files[0]
        handle, name = tempfile.mkstemp(dir=self.scratch, suffix=".joined")
        with open(handle, "wb") as joined:
            for part in self.piece.files:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, joined)
        self._made = Path(name)
        return self._made

    def __exit__(self, *exc: object) -> None:
        if self._made is not None:
            self._made.unlink(missing_ok=True)


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise RecordingError("a kept piece of the recording is not readable") from exc
