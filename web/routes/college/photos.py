"""College API: candidates' reference photos in bulk, from a zip of photos named by the candidates' external ids.

The archive is hostile input: it is never extracted to disk and no name in it is used as a path (only its base name,
to find the candidate); its central directory is bounded before `zipfile` reads it, each photo's size is checked in
the entry's header and again while it is read, and an archive that cannot be read at all (422) changes nothing.
Each photo passes the checks of single enrolment and becomes the candidate's reference photo on its own (one bad
photo refuses that photo only); the answer reports every entry, accepted or refused with the reason.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.sessions.errors import InvalidInputError, NotFoundError
from proctor.sessions.service import SessionService
from proctor.sessions.store import college_exam
from proctor.sessions.tables import CandidateRow
from web.auth import SessionsKey
from web.platform import PlatformDep
from web.routes.college.exams import PHOTO_LIMIT
from web.routes.college.uploads import form_file

router = APIRouter(tags=["college"])

ARCHIVE_LIMIT = 200 * 1024 * 1024
"""The largest archive taken (413 beyond, before it is read)."""
MAX_ENTRIES = 2000
"""Entries an archive may hold (folders included)."""
MAX_DIRECTORY = MAX_ENTRIES * (46 + 512)
"""Bytes of central directory that MAX_ENTRIES entries with names of ordinary length need: a larger directory is
refused before `zipfile` reads it into memory."""
CSV_NAME = "photos.csv"
CSV_LIMIT = 1024 * 1024
PICTURES = (".jpg", ".jpeg", ".png")
READ_BLOCK = 64 * 1024
SHOWN = 300
"""Names and ids in the report are cut to this many characters."""

_END = b"PK\x05\x06"
_END_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_MB = 1024 * 1024


class PhotoAccepted(BaseModel):
    name: str = Field(description="The entry of the archive (its path inside the zip).")
    external_id: str = Field(description="The college's own id of the candidate the photo was taken for.")
    candidate_id: str = Field(description="The candidate whose reference photo it is now.")


class PhotoRefused(BaseModel):
    name: str = Field(description="The entry of the archive, or `photos.csv line N` for a row of the CSV.")
    external_id: str | None = Field(description="The external id the entry names; null when it names none.")
    reason: str = Field(description="Why the entry was refused, in plain words.")


class PhotoReport(BaseModel):
    accepted: list[PhotoAccepted] = Field(description="Photos that are the candidates' reference photos now.")
    refused: list[PhotoRefused] = Field(description="Entries that changed nothing, each with its reason.")
    total: int = Field(description="Entries considered: the accepted and the refused ones.")


class _EntryError(Exception):
    """One entry cannot be used (the reason is the message); the other entries go on."""


@dataclass(frozen=True)
class _Item:
    """An entry to take (a photo for an external id), or one refused already (`refusal`)."""

    name: str
    external_id: str | None
    entry: zipfile.ZipInfo | None = None
    refusal: str | None = None


def _base(name: str) -> str:
    """An entry's base name: folders inside the zip do not count."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _normal(path: str) -> str:
    """An entry's path as the CSV may write it (backslashes, a leading `./` or `/`)."""
    path = path.strip().replace("\\", "/")
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    return path


def _junk(name: str) -> bool:
    """What archivers add beside the files (macOS resource forks, Finder and Explorer files): ignored."""
    parts = name.replace("\\", "/").split("/")
    return "__MACOSX" in parts or parts[-1].startswith(".") or parts[-1].lower() in ("thumbs.db", "desktop.ini")


def _check_directory(archive: IO[bytes]) -> None:
    """Refuse (InvalidInputError) what is no zip archive, a ZIP64 one, or one whose central directory is larger
    than MAX_ENTRIES entries could need, before `zipfile` reads that directory into memory. The end record is
    found as `zipfile` finds it: at the very end, else the last one within a comment's reach."""
    archive.seek(0, os.SEEK_END)
    size = archive.tell()
    span = min(size, _END_SIZE + 0xFFFF)
    archive.seek(size - span)
    tail = archive.read(span)
    at = len(tail) - _END_SIZE
    if at < 0:
        raise InvalidInputError("the archive is not a zip file")
    if not (tail[at : at + 4] == _END and tail[-2:] == b"\0\0"):
        at = tail.rfind(_END)
        if at < 0 or len(tail) - at < _END_SIZE:
            raise InvalidInputError("the archive is not a zip file")
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    end = size - span + at
    if end >= _ZIP64_LOCATOR_SIZE:
        archive.seek(end - _ZIP64_LOCATOR_SIZE)
        if archive.read(4) == _ZIP64_LOCATOR:
            raise InvalidInputError("ZIP64 archives are not taken: a photo archive of this size needs none")
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY:
        raise InvalidInputError(f"the archive holds more than {MAX_ENTRIES} entries")
    archive.seek(0)


def _open(upload: IO[bytes]) -> zipfile.ZipFile:
    """The archive, its directory bounded; InvalidInputError when it cannot be read."""
    _check_directory(upload)
    try:
        opened = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        raise InvalidInputError(f"the archive is not a readable zip file ({exc})") from exc
    entries = opened.infolist()
    if len(entries) > MAX_ENTRIES:
        raise InvalidInputError(f"the archive holds more than {MAX_ENTRIES} entries")
    upload.seek(0, os.SEEK_END)
    size = upload.tell()
    if any(not 0 <= entry.header_offset < size for entry in entries):
        raise InvalidInputError("the archive is not a readable zip file (its directory points outside it)")
    return opened


def _read(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's bytes, at most `limit` of them: checked in its header, and again while reading (a header may lie)."""
    if entry.flag_bits & 0x1:
        raise _EntryError("an encrypted zip entry: send the photos unencrypted")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _EntryError("a zip entry compressed with an unsupported method: use the usual deflate")
    too_large = f"larger than {limit // _MB} MB uncompressed"
    if entry.file_size > limit:
        raise _EntryError(too_large)
    data = bytearray()
    try:
        with archive.open(entry) as stream:
            while block := stream.read(READ_BLOCK):
                data += block
                if len(data) > limit:
                    raise _EntryError(too_large)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _EntryError(f"an unreadable zip entry ({exc})") from exc
    return bytes(data)


def _by_names(files: list[zipfile.ZipInfo]) -> list[_Item]:
    """Photos named by the candidates' external ids (`123456789012.jpg`, in any folder)."""
    items = []
    for entry in files:
        stem, dot, suffix = _base(entry.filename).rpartition(".")
        if not dot or f".{suffix.lower()}" not in PICTURES:
            reason = "not a picture: a photo is a .jpg, .jpeg or .png file named by the candidate's external id"
            items.append(_Item(entry.filename, None, refusal=reason))
        elif not stem.strip():
            items.append(_Item(entry.filename, None, refusal="the file name holds no external id"))
        else:
            items.append(_Item(entry.filename, stem.strip(), entry))
    return items


def _by_csv(archive: zipfile.ZipFile, table: zipfile.ZipInfo, files: list[zipfile.ZipInfo]) -> list[_Item]:
    """Photos mapped to external ids by `photos.csv` (header `external_id,path`, paths inside the zip); an entry it
    does not list is refused. InvalidInputError when the CSV itself cannot be read."""
    try:
        text = _read(archive, table, CSV_LIMIT).decode("utf-8-sig")
    except _EntryError as exc:
        raise InvalidInputError(f"{CSV_NAME} cannot be read: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{CSV_NAME} is not UTF-8 text") from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInputError(f"{CSV_NAME} is not valid CSV ({exc})") from exc
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "external_id" not in header or "path" not in header:
        raise InvalidInputError(f"{CSV_NAME} needs the header row external_id,path")
    if len(rows) - 1 > MAX_ENTRIES:
        raise InvalidInputError(f"{CSV_NAME} has more than {MAX_ENTRIES} rows")
    id_column, path_column = header.index("external_id"), header.index("path")
    entries: dict[str, list[zipfile.ZipInfo]] = {}
    for entry in files:
        entries.setdefault(_normal(entry.filename), []).append(entry)
    items: list[_Item] = []
    listed: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        external_id = row[id_column].strip() if id_column < len(row) else ""
        path = _normal(row[path_column]) if path_column < len(row) else ""
        listed.add(path)
        if not external_id or not path:
            reason = f"{CSV_NAME} line {line}: a row needs an external_id and a path"
            items.append(_Item(f"{CSV_NAME} line {line}", external_id or None, refusal=reason))
        elif not (found := entries.get(path)):
            reason = f"{CSV_NAME} line {line}: the archive has no entry {path!r}"
            items.append(_Item(path, external_id, refusal=reason))
        elif len(found) > 1:
            items.append(_Item(path, external_id, refusal=f"duplicate entry: the archive holds {path!r} twice"))
        else:
            items.append(_Item(path, external_id, found[0]))
    for entry in files:
        if _normal(entry.filename) not in listed:
            items.append(_Item(entry.filename, None, refusal=f"not listed in {CSV_NAME}"))
    return items


def _plan(archive: zipfile.ZipFile) -> list[_Item]:
    """What each entry is for, duplicates refused (every photo naming an external id that another photo names)."""
    files = [e for e in archive.infolist() if not e.is_dir() and not _junk(e.filename)]
    tables = [e for e in files if _base(e.filename).lower() == CSV_NAME]
    if len(tables) > 1:
        raise InvalidInputError(f"the archive holds more than one {CSV_NAME}")
    if tables:
        items = _by_csv(archive, tables[0], [e for e in files if e is not tables[0]])
    else:
        items = _by_names(files)
    named: dict[str, int] = {}
    for item in items:
        if item.refusal is None and item.external_id is not None:
            named[item.external_id] = named.get(item.external_id, 0) + 1
    twice = "duplicate entry: more than one photo names this external id"
    return [
        _Item(item.name, item.external_id, refusal=twice)
        if item.refusal is None and named.get(item.external_id or "", 0) > 1
        else item
        for item in items
    ]


def _exam_exists(service: SessionService, college_id: str, exam_id: str) -> None:
    with service.sessions() as db:
        college_exam(db, college_id, exam_id)


def reference_photos(service: SessionService, college_id: str, exam_id: str, upload: IO[bytes]) -> PhotoReport:
    """Take the archive's photos as the exam's candidates' reference photos (CPU work: call it off the event loop).
    NotFoundError for another college's exam, InvalidInputError (nothing changed) for an archive that cannot be
    read."""
    with service.sessions() as db:
        college_exam(db, college_id, exam_id)
        rows = db.execute(
            select(CandidateRow.external_id, CandidateRow.id).where(CandidateRow.exam_id == exam_id)
        ).all()
    enrolled = {external_id: candidate_id for external_id, candidate_id in rows}
    accepted: list[PhotoAccepted] = []
    refused: list[PhotoRefused] = []
    with _open(upload) as archive:
        for item in _plan(archive):
            name, external_id = item.name[:SHOWN], item.external_id
            shown = external_id[:SHOWN] if external_id is not None else None
            candidate_id = enrolled.get(external_id) if external_id is not None else None
            reason = item.refusal
            if reason is None and candidate_id is None:
                reason = "no candidate with this external id in this exam"
            if reason is None and item.entry is not None and candidate_id is not None:
                try:
                    photo = _read(archive, item.entry, PHOTO_LIMIT)
                    service.set_reference_photo(college_id, exam_id, candidate_id, photo)
                except (_EntryError, InvalidInputError, NotFoundError) as exc:
                    reason = str(exc)
                else:
                    accepted.append(PhotoAccepted(name=name, external_id=shown or "", candidate_id=candidate_id))
                    continue
            refused.append(PhotoRefused(name=name, external_id=shown, reason=reason or "not taken"))
    return PhotoReport(accepted=accepted, refused=refused, total=len(accepted) + len(refused))


ARCHIVE_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["archive"],
                    "properties": {
                        "archive": {
                            "type": "string",
                            "format": "binary",
                            "description": "A zip of photos named by external id, or holding photos.csv.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/exams/{exam_id}/photos",
    response_model=PhotoReport,
    openapi_extra=ARCHIVE_FORM,
    responses={
        404: {"description": "No such exam of this college."},
        413: {"description": f"The archive is larger than {ARCHIVE_LIMIT // _MB} MB."},
        422: {"description": "The archive cannot be read as a whole (not a zip, too many entries): nothing changed."},
    },
)
async def set_reference_photos(
    exam_id: str, request: Request, credential: SessionsKey, platform: PlatformDep
) -> PhotoReport:
    """Reference photos in bulk: multipart `archive`, a zip of photos (.jpg, .jpeg, .png) each named by its
    candidate's `external_id` (`123456789012.jpg`; folders inside the zip do not count), or a zip holding
    `photos.csv` (header `external_id,path`, the path inside the zip) which then decides which photo is whose.
    Each photo passes the checks of single enrolment (one sharp, large enough face) and then replaces the
    candidate's reference photo (a ledger record `reference_photo` names the candidate and the photo's sha256).
    The answer reports every entry: accepted, or refused with the reason (no such candidate, not a picture, no
    face, several faces, too small, blurred, a duplicate, an unreadable entry, a bad CSV row). At most
    2,000 entries of at most 10 MB each."""
    service = platform.service
    await run_in_threadpool(_exam_exists, service, credential.college_id, exam_id)  # 404 before reading the upload
    async with form_file(request, "archive", ARCHIVE_LIMIT) as form:
        if form.file.size is not None and form.file.size > ARCHIVE_LIMIT:
            raise HTTPException(413, f"archive larger than the limit of {ARCHIVE_LIMIT} bytes")
        report: PhotoReport = await run_in_threadpool(
            reference_photos, service, credential.college_id, exam_id, form.file.file
        )
    return report
