"""A WebM / Matroska stream read part by part, as a browser's MediaRecorder sends it, with nothing trusted.

A live client's recording arrives as parts of a run: the first part starts the stream (the EBML header, the
segment, its info and tracks), later parts continue it anywhere, even in the middle of an element. `WebmStream`
reads each part where the previous one stopped (its state is kept between parts, in the database) and says
what it holds: the blocks of each track with their times, and the video keyframes with their bytes. Anything
that is not the stream it claims to be — another container, an unknown track, a second stream started inside
the run, time going back, an element larger than any browser writes — is refused with the reason
(`PartRefused`), and the state is left as it was, so a refused part changes nothing.

Only the structure is read here (EBML element headers, track entries, block headers); decoding the keyframes
is the caller's (`proctor/recording/parts.py`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

EBML = 0x1A45DFA3
DOC_TYPE = 0x4282
SEGMENT = 0x18538067
INFO = 0x1549A966
TIMESTAMP_SCALE = 0x2AD7B1
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_TYPE = 0x83
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2
VIDEO = 0xE0
PIXEL_WIDTH = 0xB0
PIXEL_HEIGHT = 0xBA
CLUSTER = 0x1F43B675
CLUSTER_TIMESTAMP = 0xE7
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
REFERENCE_BLOCK = 0xFB
SEGMENT_CHILDREN = frozenset(
    {0x114D9B74, INFO, TRACKS, CLUSTER, 0x1C53BB6B, 0x1254C367, 0x1043A770, 0x1941A469, 0xEC, 0xBF}
)
"""Seek head, info, tracks, cluster, cues, tags, chapters, attachments, void, CRC-32: what a segment holds."""
CLUSTER_CHILDREN = frozenset({CLUSTER_TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP, 0xA7, 0xAB, 0x5854, 0xEC, 0xBF})
"""Timestamp, simple block, block group, position, previous size, silent tracks, void, CRC-32."""
MAX_SKIPPED = 64 << 20
"""Largest element passed over unread (cues, tags)."""

DOC_TYPES = frozenset({"webm", "matroska"})
VIDEO_CODECS = {"V_VP8": "vp8", "V_VP9": "vp9", "V_AV1": "av1", "V_MPEG4/ISO/AVC": "h264"}
AUDIO_CODECS = {"A_OPUS": "opus", "A_VORBIS": "vorbis", "A_AAC": "aac", "A_PCM/INT/LIT": "pcm_s16le"}
MAX_HEAD = 1 << 20
"""Largest EBML header, info or tracks element read (a browser's are a few hundred bytes)."""
MAX_BLOCK = 8 << 20
"""Largest block (one encoded frame) read: far above any camera's keyframe."""
MAX_BACKWARDS_S = 1.0
"""How far a track's block may go back in time (reordered frames); more is a stream that jumps back."""
UNKNOWN = -1


class PartRefused(ValueError):
    """A part that is not the continuation of its run's stream (the message says why, for the client)."""


@dataclass(frozen=True)
class Track:
    """A track of the stream: its kind (video or audio), codec, and what a decoder needs."""

    number: int
    kind: str
    codec: str
    """FFmpeg's name of the codec (`vp8`, `opus`, ...)."""
    private: bytes = b""
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Block:
    """One block of a track: when (seconds on the stream's own timeline), whether a keyframe, and for a video
    keyframe the encoded frame itself."""

    track: int
    t_s: float
    keyframe: bool
    size: int
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Reading:
    """What one part held."""

    blocks: tuple[Block, ...]
    tracks: dict[int, Track]

    @property
    def keyframes(self) -> list[Block]:
        video = {n for n, t in self.tracks.items() if t.kind == "video"}
        return [b for b in self.blocks if b.keyframe and b.track in video and b.data is not None]

    @property
    def span(self) -> tuple[float, float] | None:
        """The first and last block time of the part (None: no block ended in it)."""
        if not self.blocks:
            return None
        times = [b.t_s for b in self.blocks]
        return min(times), max(times)


@dataclass(frozen=True)
class StreamState:
    """Where a run's stream was left: bytes read, open elements (by their end, or UNKNOWN), the bytes of an element
    still incomplete, and what the stream said so far. Kept between parts as JSON."""

    offset: int = 0
    open: tuple[tuple[int, int], ...] = ()
    pending: bytes = b""
    skip_until: int = 0
    doc_type: str = ""
    scale_ns: int = 1_000_000
    tracks: tuple[Track, ...] = ()
    head: bytes = b""
    """The stream's bytes before its first cluster (header, info, tracks): a decoder's start."""
    clustered: bool = False
    cluster_ts: int | None = None
    last_ts: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "open": [list(pair) for pair in self.open],
            "pending": base64.b64encode(self.pending).decode(),
            "skip_until": self.skip_until,
            "doc_type": self.doc_type,
            "scale_ns": self.scale_ns,
            "tracks": [
                {
                    "number": t.number,
                    "kind": t.kind,
                    "codec": t.codec,
                    "private": base64.b64encode(t.private).decode(),
                    "width": t.width,
                    "height": t.height,
                }
                for t in self.tracks
            ],
            "head": base64.b64encode(self.head).decode(),
            "clustered": self.clustered,
            "cluster_ts": self.cluster_ts,
            "last_ts": [list(pair) for pair in self.last_ts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamState:
        tracks = tuple(
            Track(
                int(t["number"]),
                str(t["kind"]),
                str(t["codec"]),
                base64.b64decode(t["private"]),
                int(t["width"]),
                int(t["height"]),
            )
            for t in data["tracks"]
        )
        return cls(
            offset=int(data["offset"]),
            open=tuple((int(a), int(b)) for a, b in data["open"]),
            pending=base64.b64decode(data["pending"]),
            skip_until=int(data["skip_until"]),
            doc_type=str(data["doc_type"]),
            scale_ns=int(data["scale_ns"]),
            tracks=tracks,
            head=base64.b64decode(data["head"]),
            clustered=bool(data["clustered"]),
            cluster_ts=None if data["cluster_ts"] is None else int(data["cluster_ts"]),
            last_ts=tuple((int(a), int(b)) for a, b in data["last_ts"]),
        )


def read_vint(data: bytes | memoryview, at: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `at`: (value, length), None when `data` ends first. With
    `keep_marker` it is an element ID (marker bit kept, at most 4 bytes); else a size (all ones: UNKNOWN)."""
    if at >= len(data):
        return None
    first = data[at]
    if first == 0:
        raise PartRefused("not an EBML stream (an element header starts with a zero byte)")
    length = 8 - first.bit_length() + 1
    if keep_marker and length > 4:
        raise PartRefused("not an EBML stream (an element ID longer than 4 bytes)")
    if at + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return UNKNOWN, length
    return value, length


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big") if data else 0


def children(data: bytes) -> list[tuple[int, bytes]]:
    """The child elements of a complete master element's body: (id, body)."""
    found: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        ident = read_vint(data, at, keep_marker=True)
        size = read_vint(data, at + ident[1], keep_marker=False) if ident is not None else None
        if ident is None or size is None or size[0] == UNKNOWN:
            raise PartRefused("a header element of the stream is cut short or of unknown size")
        start = at + ident[1] + size[1]
        end = start + size[0]
        if end > len(data):
            raise PartRefused("a header element of the stream is cut short")
        found.append((ident[0], data[start:end]))
        at = end
    return found


class WebmStream:
    """Reads a run's stream part by part from its `state`; `read` gives the next state only when the part is
    the stream's honest continuation (PartRefused otherwise, the state untouched)."""

    def __init__(self, state: StreamState | None = None) -> None:
        self.state = state or StreamState()

    def read(self, part: bytes, first: bool) -> tuple[Reading, StreamState]:
        """Read one part (`first`: it starts the run's stream); returns what it held and the state after it."""
        if first != (self.state.offset == 0):
            raise PartRefused("the first part of a run starts the stream; later parts continue it")
        reader = _Reader(self.state)
        blocks = reader.feed(part)
        if first and not reader.state.tracks:
            raise PartRefused("the first part of a run must hold the stream's header and tracks")
        return Reading(tuple(blocks), {t.number: t for t in reader.state.tracks}), reader.state


class _Reader:
    """One pass over the pending bytes and a new part, on mutable copies of the state's fields (written back as a
    new state only when the whole part has been read)."""

    def __init__(self, state: StreamState) -> None:
        self.before = state
        self.open = list(state.open)
        self.skip_until = state.skip_until
        self.doc_type = state.doc_type
        self.scale_ns = state.scale_ns
        self.tracks = {t.number: t for t in state.tracks}
        self.clustered = state.clustered
        self.cluster_ts = state.cluster_ts
        self.last_ts = dict(state.last_ts)
        self.first_cluster_at: int | None = None
        self.state = state

    def feed(self, part: bytes) -> list[Block]:
        before = self.before
        data = memoryview(before.pending + part) if before.pending else memoryview(part)
        base = before.offset - len(before.pending)  # the stream offset of data[0]
        total = before.offset + len(part)
        blocks, consumed = self._parse(data, base, total)
        head = before.head
        if not before.clustered:
            head = before.head + part
            if self.first_cluster_at is not None:
                head = head[: self.first_cluster_at]
            if len(head) > MAX_HEAD:
                raise PartRefused("the stream's header is larger than a browser writes")
        self.state = StreamState(
            offset=total,
            open=tuple(self.open),
            pending=bytes(data[consumed - base :]),
            skip_until=self.skip_until,
            doc_type=self.doc_type,
            scale_ns=self.scale_ns,
            tracks=tuple(self.tracks.values()),
            head=head,
            clustered=self.clustered,
            cluster_ts=self.cluster_ts,
            last_ts=tuple(sorted(self.last_ts.items())),
        )
        return blocks

    def _parse(self, data: memoryview, base: int, total: int) -> tuple[list[Block], int]:
        """Read whole elements from `data` (which starts at stream offset `base`); returns the blocks and the
        stream offset up to which everything was read."""
        blocks: list[Block] = []
        consumed = base
        while True:
            if self.skip_until > consumed:
                consumed = min(total, self.skip_until)
            while self.open and self.open[-1][1] != UNKNOWN and self.open[-1][1] <= consumed:
                self.open.pop()  # a known-size element ends here
            if consumed >= total:
                break
            header = _header(data, consumed - base)
            if header is None:
                break
            ident, size, length = header
            parent = self._parent_for(ident)
            if parent == 0:
                self._top_level(ident)
            if ident in (SEGMENT, CLUSTER) and parent in (0, SEGMENT):
                self._enter(ident, consumed, consumed + length + size if size != UNKNOWN else UNKNOWN)
                consumed += length
                continue
            if size == UNKNOWN:
                raise PartRefused(f"an element ({ident:X}) of unknown size where a size is needed")
            if _is_whole(ident, parent):
                limit = MAX_BLOCK if ident in (SIMPLE_BLOCK, BLOCK_GROUP) else MAX_HEAD
                if size > limit:
                    raise PartRefused(f"an element ({ident:X}) of {size} bytes: larger than a browser writes")
                at = consumed - base + length
                if at + size > len(data):
                    break  # the rest of it comes with the next part
                block = self._whole(ident, data[at : at + size])
                if block is not None:
                    blocks.append(block)
            else:
                allowed = SEGMENT_CHILDREN if parent == SEGMENT else CLUSTER_CHILDREN if parent == CLUSTER else ()
                if ident not in allowed or size > MAX_SKIPPED:
                    raise PartRefused(f"an element ({ident:X}) a browser's recording does not hold there")
                self.skip_until = consumed + length + size
            consumed += length + size
        return blocks, consumed

    def _parent_for(self, ident: int) -> int:
        """The open element `ident` belongs to (0: the top level); an unknown-size cluster ends at the next
        element of the segment."""
        opened = self.open
        while opened and opened[-1][0] == CLUSTER and opened[-1][1] == UNKNOWN and ident in SEGMENT_CHILDREN:
            opened.pop()
        return opened[-1][0] if opened else 0

    def _top_level(self, ident: int) -> None:
        if ident == EBML:
            if self.doc_type:
                raise PartRefused("a second stream starts inside the run: a new recording is a new run")
            return
        if ident == SEGMENT:
            if not self.doc_type:
                raise PartRefused("not a WebM or Matroska stream (no EBML header)")
            return
        raise PartRefused("not a WebM or Matroska stream")

    def _enter(self, ident: int, start: int, end: int) -> None:
        if ident == SEGMENT and any(i == SEGMENT for i, _ in self.open):
            raise PartRefused("a second segment starts inside the run")
        if ident == CLUSTER:
            if not self.tracks:
                raise PartRefused("a cluster comes before the stream's tracks")
            if not self.open or self.open[-1][0] != SEGMENT:
                raise PartRefused("a cluster outside the segment")
            if not self.clustered:
                self.first_cluster_at = start
            self.clustered = True
            self.cluster_ts = None
        self.open.append((ident, end))

    def _whole(self, ident: int, view: memoryview) -> Block | None:
        if ident == SIMPLE_BLOCK:
            return self._block(view, keyframe=None)
        body = bytes(view)
        if ident == CLUSTER_TIMESTAMP:
            self.cluster_ts = _uint(body)
        elif ident == BLOCK_GROUP:
            inner = children(body)
            block = next((value for child, value in inner if child == BLOCK), None)
            if block is None:
                raise PartRefused("a block group without its block")
            return self._block(memoryview(block), keyframe=not any(child == REFERENCE_BLOCK for child, _ in inner))
        elif ident == EBML:
            doc = next((value for child, value in children(body) if child == DOC_TYPE), b"").decode("ascii", "replace")
            if doc not in DOC_TYPES:
                raise PartRefused(f"not a WebM or Matroska stream (document type {doc!r})")
            self.doc_type = doc
        elif ident == INFO:
            for child, value in children(body):
                if child == TIMESTAMP_SCALE:
                    scale = _uint(value)
                    if not 1_000 <= scale <= 1_000_000_000:
                        raise PartRefused("the stream's timestamp scale is not a sane one")
                    self.scale_ns = scale
        elif ident == TRACKS:
            if self.tracks:
                raise PartRefused("the stream's tracks are declared twice")
            self.tracks = {t.number: t for t in _tracks(body)}
        return None

    def _block(self, body: memoryview, keyframe: bool | None) -> Block:
        number = read_vint(body, 0, keep_marker=False)
        if number is None or number[0] == UNKNOWN or len(body) < number[1] + 3:
            raise PartRefused("a block is cut short")
        track_number, length = number
        track = self.tracks.get(track_number)
        if track is None:
            raise PartRefused(f"a block of track {track_number}, which the stream never declared")
        if self.cluster_ts is None:
            raise PartRefused("a block before its cluster's time")
        relative = int.from_bytes(body[length : length + 2], "big", signed=True)
        flags = body[length + 2]
        timestamp = self.cluster_ts + relative
        last = self.last_ts.get(track_number)
        if last is not None and timestamp < last - MAX_BACKWARDS_S * 1e9 / self.scale_ns:
            raise PartRefused("a track's time goes back: parts must continue the run in order")
        self.last_ts[track_number] = timestamp if last is None else max(last, timestamp)
        key = bool(flags & 0x80) if keyframe is None else keyframe
        size = len(body) - length - 3
        if size <= 0:
            raise PartRefused("an empty block")
        data = None
        if track.kind == "video":
            frame = bytes(body[length + 3 :]) if key else bytes(body[length + 3 : length + 13])
            _check_video_frame(track.codec, frame, key)
            data = frame if key and not flags & 0x06 else None
        return Block(track_number, timestamp * self.scale_ns / 1e9, key, size, data)


def _header(data: memoryview, at: int) -> tuple[int, int, int] | None:
    """(id, size, header length) of the element at `at`; None when `data` ends inside the header."""
    ident = read_vint(data, at, keep_marker=True)
    if ident is None:
        return None
    size = read_vint(data, at + ident[1], keep_marker=False)
    if size is None:
        return None
    return ident[0], size[0], ident[1] + size[1]


def _is_whole(ident: int, parent: int) -> bool:
    """Whether an element is read whole (header, info, tracks, a cluster's time and blocks) or passed over."""
    if parent == 0:
        return ident == EBML
    if parent == SEGMENT:
        return ident in (INFO, TRACKS)
    if parent == CLUSTER:
        return ident in (CLUSTER_TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP)
    return False


def _tracks(body: bytes) -> tuple[Track, ...]:
    found = []
    for child, entry in children(body):
        if child != TRACK_ENTRY:
            continue
        fields = dict(children(entry))
        number = _uint(fields.get(TRACK_NUMBER, b""))
        kind = {1: "video", 2: "audio"}.get(_uint(fields.get(TRACK_TYPE, b"")))
        codec_id = fields.get(CODEC_ID, b"").decode("ascii", "replace").rstrip("\0")
        if number <= 0 or kind is None:
            raise PartRefused("a track that is neither video nor audio, or without a number")
        codecs = VIDEO_CODECS if kind == "video" else AUDIO_CODECS
        if codec_id not in codecs:
            raise PartRefused(f"a {kind} track in {codec_id or 'no codec'}; expected one of {', '.join(codecs)}")
        width = height = 0
        if kind == "video" and VIDEO in fields:
            video = dict(children(fields[VIDEO]))
            width, height = _uint(video.get(PIXEL_WIDTH, b"")), _uint(video.get(PIXEL_HEIGHT, b""))
            if not (0 < width <= 4096 and 0 < height <= 4096):
                raise PartRefused(f"a video track of {width}×{height} pixels")
        found.append(Track(number, kind, codecs[codec_id], fields.get(CODEC_PRIVATE, b""), width, height))
    if len({t.number for t in found}) != len(found):
        raise PartRefused("two tracks with one number")
    if not any(t.kind == "video" for t in found):
        raise PartRefused("the stream has no video track")
    return tuple(found)


def _check_video_frame(codec: str, frame: bytes, keyframe: bool) -> None:
    """The cheap checks an encoded frame's first bytes allow (the keyframes are decoded later)."""
    if codec == "vp8":
        if len(frame) < 3 or ((frame[0] >> 1) & 0x7) > 3:
            raise PartRefused("a video frame that is not VP8")
        if keyframe != (not frame[0] & 0x01):
            raise PartRefused("a block's keyframe flag disagrees with its VP8 frame")
        if keyframe and (len(frame) < 10 or frame[3:6] != b"\x9d\x01\x2a"):
            raise PartRefused("a VP8 keyframe without its start code")
    elif codec == "vp9" and frame[0] >> 6 != 0b10:
        raise PartRefused("a video frame that is not VP9")
