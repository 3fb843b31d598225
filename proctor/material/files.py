"""The text of an uploaded answer or source: .txt (UTF-8, or Windows-1251 as older Russian/Kazakh files are),
.docx (python-docx) and .pdf (pypdf), each read within limits a hostile file cannot push past: the file's size, a
.docx's unpacked size and entry count (a zip bomb is refused before anything is unpacked), a PDF's pages, and the
characters of text kept."""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import PurePath

from proctor.sessions.errors import InvalidInputError, TooLargeError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 500_000
"""About 70,000 words: a textbook chapter; an answer is far shorter."""
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_RATIO = 100
"""A .docx entry unpacking to more than this many times its packed size is a zip bomb."""
MAX_PDF_PAGES = 500
SUFFIXES = (".txt", ".docx", ".pdf")
TAG = re.compile(r"<[^>]{0,2000}>")


def bounded(text: str) -> str:
    """The text, refused when longer than MAX_TEXT_CHARS or empty."""
    text = text.replace("\x00", "").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise TooLargeError(f"a text has at most {MAX_TEXT_CHARS} characters")
    if not text:
        raise InvalidInputError("the text is empty")
    return text


def html_text(markup: str) -> str:
    """Plain text of an LMS's HTML answer (Moodle essays): paragraphs kept, tags dropped, entities decoded."""
    spaced = re.sub(r"(?i)</(p|div|li|h\d)>|<br\s*/?>", "\n\n", markup[: MAX_TEXT_CHARS * 4])
    return html.unescape(TAG.sub(" ", spaced))


def _plain(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise InvalidInputError("a .txt file must be UTF-8 or Windows-1251 text") from exc


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInputError("not a .docx file (not a ZIP archive)") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise InvalidInputError(f"a .docx file has at most {MAX_ENTRIES} parts")
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > MAX_RATIO * max(entry.compress_size, 1) and entry.file_size > 1024 * 1024:
                raise InvalidInputError(f"a .docx part unpacks {entry.file_size // max(entry.compress_size, 1)}-fold")
        if total > MAX_UNPACKED_BYTES:
            raise TooLargeError(f"a .docx file unpacks to at most {MAX_UNPACKED_BYTES} bytes")


def _docx(data: bytes) -> str:
    _check_zip(data)
    import docx  # python-docx, imported when a .docx comes

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a broken package
        raise InvalidInputError(f"the .docx file cannot be read ({type(exc).__name__})") from exc
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n\n".join(part for part in parts if part.strip())


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidInputError(f"a PDF has at most {MAX_PDF_PAGES} pages")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text)
            if size > MAX_TEXT_CHARS:
                raise TooLargeError(f"a text has at most {MAX_TEXT_CHARS} characters")
            pages.append(text)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"the PDF cannot be read ({type(exc).__name__})") from exc
    return "\n\n".join(pages)


def read_text(name: str, data: bytes) -> str:
    """The text of a file by its name's suffix (.txt, .docx, .pdf); InvalidInputError or TooLargeError otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise TooLargeError(f"a file has at most {MAX_FILE_BYTES} bytes")
    suffix = PurePath(name).suffix.lower()
    if suffix == ".txt":
        return bounded(_plain(data))
    if suffix == ".docx":
        return bounded(_docx(data))
    if suffix == ".pdf":
        return bounded(_pdf(data))
    raise InvalidInputError(f"a file must be one of {', '.join(SUFFIXES)} (got {suffix or 'no suffix'!r})")
