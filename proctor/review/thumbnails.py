"""Small evidence pictures for the event list: made once from the evidence JPEG (240 px wide) and kept beside
the session's media (under its `thumbs/` folder, which retention purges with the evidence)."""

from __future__ import annotations

import io

from PIL import Image

from proctor.sessions.store import SessionStore

THUMB_WIDTH = 240
THUMB_QUALITY = 70


def thumbnail_key(evidence_key: str, run: int, seq: int) -> str:
    """Where the thumbnail of an event's evidence is kept: `<session folder>/thumbs/<run>-<seq>.jpg`."""
    parts = evidence_key.split("/")
    return "/".join([*parts[:3], "thumbs", f"{run}-{seq:04d}.jpg"])


def make_thumbnail(jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as image:
        image.draft("RGB", (THUMB_WIDTH * 2, THUMB_WIDTH * 2))  # JPEG decodes at a reduced scale: fast
        picture = image.convert("RGB")
        picture.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
        return out.getvalue()


def thumbnail(store: SessionStore, evidence_key: str, run: int, seq: int) -> bytes:
    """The thumbnail of an event's evidence, made on first use; FileNotFoundError when the evidence is gone."""
    key = thumbnail_key(evidence_key, run, seq)
    try:
        with store.storage.open(key) as kept:
            return kept.read()
    except FileNotFoundError:
        pass
    with store.storage.open(evidence_key) as evidence:
        small = make_thumbnail(evidence.read())
    try:
        store.put_bytes(key, small)
    except FileExistsError:  # another request made it meanwhile: the same picture
        pass
    return small
