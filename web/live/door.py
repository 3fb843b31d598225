"""The server's own pictures of the candidate at the door: while the exam asks for the ID card and the session has
not passed its identity check, one sampled frame of the live video every EVERY_S is kept (the first FIRST and the
last KEPT of them, as the I420 planes the analysis receives), so that the card check compares the card's photo
with the face the server saw itself, not only with stills the candidate's page chose to send. Only in memory, and
dropped once the session is past the door."""

from __future__ import annotations

from collections import deque

from proctor.frames import I420Picture

EVERY_S = 2.0
FIRST = 5
"""The first pictures are kept whatever comes after: they show the candidate before the card step began."""
KEPT = 15
"""And the last ones: with the first, at most 40 s of video (2.3 MB at the analysis size)."""


class DoorPictures:
    """The kept pictures of one session (on the event loop: `offer` from the video intake, `taken` from a route)."""

    def __init__(self) -> None:
        self._first: list[I420Picture] = []
        self._last: deque[I420Picture] = deque(maxlen=KEPT)
        self._last_s = float("-inf")

    def due(self, at_s: float) -> bool:
        return at_s - self._last_s >= EVERY_S

    def offer(self, picture: I420Picture) -> None:
        self._last_s = picture.at_s
        (self._first if len(self._first) < FIRST else self._last).append(picture)

    def taken(self) -> tuple[I420Picture, ...]:
        """The kept pictures, oldest first."""
        return (*self._first, *self._last)

    def clear(self) -> None:
        self._first.clear()
        self._last.clear()
