"""Multipart uploads copied to disk with a hard size limit, without holding them in memory."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

MULTIPART_OVERHEAD = 64 * 1024


def check_length(request: Request, limit: int) -> None:
    """Refuse bodies without a length (411) or over the limit (413) before reading a byte."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise HTTPException(411, "uploads need a Content-Length header")
    if int(declared) > limit + MULTIPART_OVERHEAD:
        raise HTTPException(413, f"upload larger than the limit of {limit} bytes")


@dataclass(frozen=True)
class FormUpload:
    """The file part of a multipart form, and its text fields."""

    file: UploadFile
    fields: dict[str, str]


@asynccontextmanager
async def form_file(request: Request, field: str, limit: int) -> AsyncIterator[FormUpload]:
    """Parse a multipart form with the file part `field`; its spooled files are closed afterwards."""
    check_length(request, limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(415, "send the upload as multipart/form-data")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, f"the form needs a file field {field!r}")
        yield FormUpload(upload, {key: value for key, value in form.items() if isinstance(value, str)})


@dataclass(frozen=True)
class StagedFile:
    """An upload copied to disk, with the SHA-256 and size computed while copying."""

    path: Path
    sha256: str
    size: int


async def save_upload(upload: UploadFile, folder: Path, limit: int) -> StagedFile:
    """Copy an upload into a new file in `folder` (off the event loop); 413 (and nothing left behind) past `limit`."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".upload.", dir=folder)
    path = Path(name)

    def copy() -> StagedFile:
        size = 0
        digest = hashlib.sha256()
        with open(handle, "wb") as out:  # closes the descriptor mkstemp opened
            upload.file.seek(0)
            while block := upload.file.read(1 << 20):
                size += len(block)
                if size > limit:
                    break
                digest.update(block)
                out.write(block)
        return StagedFile(path, digest.hexdigest(), size)

    try:
        staged = await run_in_threadpool(copy)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if staged.size > limit:
        path.unlink(missing_ok=True)
        raise HTTPException(413, f"upload larger than the limit of {limit} bytes")
    if staged.size == 0:
        path.unlink(missing_ok=True)
        raise HTTPException(400, "the uploaded file is empty")
    return staged


def display_name(filename: str | None) -> str:
    """How messages name an uploaded file: the client's own base name, cleaned, never a server path."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in "\"'`")[:100].strip()
    return cleaned or "the upload"


def discard(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
