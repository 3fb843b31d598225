"""Answers for a byte range of a file (HTTP Range, RFC 9110 §14): a video player seeks without downloading
the whole recording. The file is already open, so the answer cannot be cut short by a deletion."""

from __future__ import annotations

import json
import re

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from proctor.sessions.playback import Playback

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


SKIPPED_HEADER = "X-Proctor-Skipped"
"""What playback had to leave out of the recording (pieces it could not read), as JSON: every answer says it."""


def range_response(playback: Playback, range_header: str | None, headers: dict[str, str]) -> Response:
    """200 with the whole file, 206 with one satisfiable range, 416 for a range past the end."""
    size = playback.size
    skipped = json.dumps([piece.to_json() for piece in playback.skipped], ensure_ascii=True, separators=(",", ":"))
    common = {**headers, "Accept-Ranges": "bytes", SKIPPED_HEADER: skipped}
    match = RANGE.match(range_header.strip()) if range_header else None
    if match is None or not (match.group(1) or match.group(2)):
        return StreamingResponse(
            playback.blocks(),
            media_type=playback.media_type,
            headers={**common, "Content-Length": str(size)},
            background=BackgroundTask(playback.close),
        )
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        playback.close()
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    return StreamingResponse(
        playback.blocks(start, end),
        status_code=206,
        media_type=playback.media_type,
        headers={**common, "Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)},
        background=BackgroundTask(playback.close),
    )
