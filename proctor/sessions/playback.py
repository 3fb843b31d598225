"""Playback of a session's kept recording: one file, remuxed from its pieces once and kept beside them.

The file's name is a hash of the pieces it holds, so new pieces (another upload, more of a live run)
give a new file and a stale one is never served; retention deletes it with the pieces. The file is
opened before the answer starts, so a purge that runs meanwhile cannot cut a playback short.

Playback never fails whole: a piece that cannot be read (gone from the disk, its bytes no longer those its
sha256 in the ledger names, or not readable as media) is left out, and the rest plays. A live run whose part in
the middle is lost goes on after it: the parts after it are played behind the run's stream header. What was
left out, where and why, is kept beside the file and told with every answer (`Playback.skipped`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from models.registry import sha256_of
from proctor.errors import RecordingError
from proctor.recording.playback import Piece, SkippedPiece, build_playback, playback_format, video_codec_of
from proctor.recording.storage import Storage
from proctor.sessions.errors import NotFoundError
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import ChunkRow, RecordingRunRow

logger = logging.getLogger(__name__)

BLOCK = 1 << 20


@dataclass(frozen=True)
class PlannedFile:
    """One kept file of a piece: where it is, the hash the ledger holds for it, and what it is called in a report."""

    key: str
    sha256: str
    label: str


@dataclass(frozen=True)
class PlannedPiece:
    """A piece of the recording by storage keys, before its files are fetched: an upload's chunk, or a live run
    (its parts, and the run's stream header for parts played after a lost one)."""

    files: tuple[PlannedFile, ...]
    start_s: float
    rotation: int = 0
    head: bytes = b""
    origin_s: float | None = None
    end_s: float | None = None

    def on_disk(
        self, storage: Storage, files: contextlib.ExitStack, scratch: Path, skipped: list[SkippedPiece]
    ) -> list[Piece]:
        """The piece as local files, held until `files` closes; parts that cannot be read are left out (and said
        in `skipped`), a run going on after them behind its header."""
        pieces: list[list[Path]] = [[]]
        for number, planned in enumerate(self.files):
            problem = None
            try:
                path = files.enter_context(storage.as_file(planned.key))
                if sha256_of(path) != planned.sha256:
                    problem = "its bytes are not those the ledger holds"
            except OSError:
                problem = "it cannot be read from the storage"
            if problem is None:
                pieces[-1].append(path)
                continue
            skipped.append(SkippedPiece(self.start_s, self.end_s, f"{planned.label}: {problem}"))
            logger.warning("playback leaves out %s: %s", planned.label, problem)
            if number + 1 < len(self.files) and self.head:
                header = scratch / f"head-{hashlib.sha256(planned.key.encode()).hexdigest()[:12]}.webm"
                header.write_bytes(self.head)
                pieces.append([header])
        found = []
        for number, paths in enumerate(pieces):
            resumed = number > 0
            if len(paths) > (1 if resumed else 0):
                origin = self.origin_s if resumed else None
                found.append(Piece(tuple(paths), self.start_s, self.rotation, origin, self.end_s))
        return found


@dataclass
class Playback:
    """A session's recording as one open file, and what of it could not be played."""

    media_type: str
    handle: BinaryIO
    size: int
    skipped: tuple[SkippedPiece, ...] = field(default=())

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes [start, end] (inclusive; default: to the end); the file is closed afterwards."""
        last = self.size - 1 if end is None else end
        try:
            self.handle.seek(start)
            left = last - start + 1
            while left > 0 and (block := self.handle.read(min(BLOCK, left))):
                left -= len(block)
                yield block
        finally:
            self.close()

    def close(self) -> None:
        self.handle.close()


class Playbacks:
    """Opens the playback file of a session, building it from the kept pieces when needed."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self._building: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def open(self, college_id: str, session_id: str, track: str = "camera") -> Playback:
        """The `camera` recording (with the microphone; uploads included) or the shared `screen`; NotFoundError
        when nothing of it is kept (never recorded, or purged)."""
        storage = self.store.storage
        with self.store.sessions() as db:
            row = college_session(db, college_id, session_id)
            exam = college_exam(db, college_id, row.exam_id)
            chunks = db.scalars(
                select(ChunkRow)
                .where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))
                .order_by(ChunkRow.seq)
            ).all()
            runs = {
                run.id: run
                for run in db.scalars(select(RecordingRunRow).where(RecordingRunRow.session_id == session_id))
            }
        chunks = [c for c in chunks if (runs[c.run_id].track if c.run_id is not None else "camera") == track]
        if not chunks:
            raise NotFoundError(f"no recording ({track}) is kept for this session")
        planned: list[PlannedPiece] = []
        by_run: dict[int, list[ChunkRow]] = {}
        for chunk in chunks:
            if chunk.run_id is None:
                label = f"chunk {chunk.seq}"
                end = chunk.start_s + chunk.duration_s
                kept: tuple[PlannedFile, ...] = (PlannedFile(chunk.storage_key, chunk.sha256, label),)
                planned.append(PlannedPiece(kept, chunk.start_s, chunk.rotation, end_s=end))
            else:
                by_run.setdefault(chunk.run_id, []).append(chunk)
        for run_id, parts in by_run.items():
            parts.sort(key=lambda c: c.part or 0)
            run = runs[run_id]
            kept = tuple(PlannedFile(c.storage_key, c.sha256, f"part {c.part} of recording {run.run}") for c in parts)
            head = base64.b64decode(str(run.stream.get("head", ""))) if isinstance(run.stream, dict) else b""
            planned.append(PlannedPiece(kept, run.start_s, 0, head, run.origin_s, run.end_s))
        planned.sort(key=lambda p: p.start_s)
        digest = hashlib.sha256("|".join(f"{c.sha256}@{c.start_s:.3f}" for c in chunks).encode()).hexdigest()[:24]
        prefix = f"{exam.college_id}/{exam.id}/{session_id}/playback" + ("" if track == "camera" else f"-{track}")
        with self._lock(session_id):
            try:
                with contextlib.ExitStack() as files, self.store.scratch() as scratch:
                    skipped: list[SkippedPiece] = []
                    pieces = [piece for plan in planned for piece in plan.on_disk(storage, files, scratch, skipped)]
                    fmt = playback_format(_first_codec(pieces, scratch))
                    key = f"{prefix}/{digest}.{fmt.suffix}"
                    if storage.exists(key):
                        skipped = _read_report(storage, key)
                    else:
                        self._build(pieces, key, prefix, scratch, skipped)
                handle = storage.open(key)
            except FileNotFoundError as exc:
                raise NotFoundError("the recording was purged while it was being opened") from exc
            except RecordingError as exc:
                raise NotFoundError(f"no piece of the recording can be played back: {exc}") from exc
        size = handle.seek(0, 2)
        handle.seek(0)
        return Playback(fmt.media_type, handle, size, tuple(skipped))

    def _build(self, pieces: list[Piece], key: str, prefix: str, scratch: Path, skipped: list[SkippedPiece]) -> None:
        storage = self.store.storage
        storage.delete_prefix(prefix)  # an older playback file of fewer pieces
        out = scratch / "playback"
        skipped.extend(build_playback(pieces, out).skipped)
        report = scratch / "playback.json"
        report.write_text(json.dumps([s.to_json() for s in skipped]), encoding="utf-8")
        try:
            storage.put(f"{key}.json", report)
            storage.put(key, out)
        except FileExistsError:
            pass  # built at the same time elsewhere: the same pieces, the same bytes
        logger.info("playback %s built from %d pieces (%d left out)", key, len(pieces), len(skipped))

    def _lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._building.setdefault(session_id, threading.Lock())


def _first_codec(pieces: list[Piece], scratch: Path) -> str:
    """The video codec of the first piece that can be read (RecordingError when none can)."""
    problem: RecordingError | None = None
    for piece in pieces:
        try:
            return video_codec_of(piece, scratch)
        except RecordingError as exc:
            problem = exc
    raise problem or RecordingError("nothing of the recording is left to play")


def _read_report(storage: Storage, key: str) -> list[SkippedPiece]:
    try:
        with storage.open(f"{key}.json") as stored:
            return [SkippedPiece.from_json(item) for item in json.loads(stored.read())]
    except (OSError, ValueError, KeyError, TypeError):
        return []
