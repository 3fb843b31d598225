"""Playback of a session's kept recording: one file, remuxed from its pieces once and kept beside them.

The file's name is a hash of the pieces it holds, so new pieces (another upload, more of a live run)
give a new file and a stale one is never served; retention deletes it with the pieces. The file is
opened before the answer starts, so a purge that runs meanwhile cannot cut a playback short.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from proctor.errors import RecordingError
from proctor.recording.playback import Piece, build_playback, playback_format, video_codec_of
from proctor.recording.storage import Storage
from proctor.sessions.errors import NotFoundError
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import ChunkRow, RecordingRunRow

logger = logging.getLogger(__name__)

BLOCK = 1 << 20


@dataclass(frozen=True)
class PlannedPiece:
    """A piece of the recording by storage keys, before its files are fetched."""

    keys: tuple[str, ...]
    start_s: float
    rotation: int = 0

    def on_disk(self, storage: Storage, files: contextlib.ExitStack) -> Piece:
        """The piece as local files, held until `files` closes."""
        return Piece(tuple(files.enter_context(storage.as_file(key)) for key in self.keys), self.start_s, self.rotation)


@dataclass
class Playback:
    """A session's recording as one open file."""

    media_type: str
    handle: BinaryIO
    size: int

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
                planned.append(PlannedPiece((chunk.storage_key,), chunk.start_s, chunk.rotation))
            else:
                by_run.setdefault(chunk.run_id, []).append(chunk)
        for run_id, parts in by_run.items():
            parts.sort(key=lambda c: c.part or 0)
            planned.append(PlannedPiece(tuple(c.storage_key for c in parts), runs[run_id].start_s))
        planned.sort(key=lambda p: p.start_s)
        digest = hashlib.sha256("|".join(f"{c.sha256}@{c.start_s:.3f}" for c in chunks).encode()).hexdigest()[:24]
        prefix = f"{exam.college_id}/{exam.id}/{session_id}/playback" + ("" if track == "camera" else f"-{track}")
        with self._lock(session_id):
            try:
                with contextlib.ExitStack() as files, self.store.scratch() as scratch:
                    pieces = [piece.on_disk(storage, files) for piece in planned]
                    fmt = playback_format(video_codec_of(pieces[0], scratch))
                    key = f"{prefix}/{digest}.{fmt.suffix}"
                    if not storage.exists(key):
                        self._build(pieces, key, prefix, scratch)
                handle = storage.open(key)
            except FileNotFoundError as exc:
                raise NotFoundError("the recording was purged while it was being opened") from exc
            except RecordingError as exc:
                raise NotFoundError(f"the recording cannot be played back: {exc}") from exc
        size = handle.seek(0, 2)
        handle.seek(0)
        return Playback(fmt.media_type, handle, size)

    def _build(self, pieces: list[Piece], key: str, prefix: str, scratch: Path) -> None:
        storage = self.store.storage
        storage.delete_prefix(prefix)  # an older playback file of fewer pieces
        out = scratch / "playback"
        build_playback(pieces, out)
        try:
            storage.put(key, out)
        except FileExistsError:
            pass  # built at the same time elsewhere: the same pieces, the same bytes
        logger.info("playback %s built from %d pieces", key, len(pieces))

    def _lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._building.setdefault(session_id, threading.Lock())
