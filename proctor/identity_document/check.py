"""The whole ID-card check at the door: OCR of the IIN and the name, the IIN validated, the name compared with the
candidate's, and the card's photo compared with the live face, the enrolled photo and the server's own pictures.

The card still and the face still come from the candidate's page, so neither vouches for who sits at the camera:
a page could send a still of the card's owner. The server therefore also compares the card's face with the faces
it saw itself in the session's live video while the card step was open (`CheckInputs.stream`, a few pictures at
the analysis size); a card face unlike them is `stream_face_mismatch`, and no such picture to compare with
(no live video reached the server during the step) is `stream_face_unverified`, both for the examiner.

The outcome is for the examiner: a failed check marks the session, it never stops the candidate. Tesseract runs
in its own process while the faces are detected and encoded here, so the two share the machine's cores (≤ 2 s of
server time on a 2-core machine; benchmarks/id_document.py measures it).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np

from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, IdentityConfig
from proctor.frames import Image
from proctor.identity_document.card_face import FaceComparison, card_threshold, compare_to, split_faces
from proctor.identity_document.iin import mask_iin, validate_iin
from proctor.identity_document.names import compare_names
from proctor.identity_document.ocr import Tesseract, card_image, find_card, read_card

T = TypeVar("T")

STREAM_LOOKS = 6
"""At most this many of the server's pictures are searched for faces (about 10 ms each at 320×240)."""
STREAM_FACES = 3
"""At most this many faces of the server's pictures are encoded (about 0.1 s each)."""
STREAM_MIN_FACE_PX = 50
"""Smaller faces in the server's pictures (320 px wide) are left out: a face far away, and a card's portrait (42 px
for a card held to fill the page's frame; a candidate at a webcam measures 65–115 px in the test pictures at that
size). A card held so close that its portrait is larger still passes for a face: the examiner sees it in the
recording."""


@dataclass(frozen=True)
class DocumentCheck:
    """What the card check found: no picture and no full IIN (the IIN is kept masked; the picture is stored apart)."""

    iin_masked: str
    iin_valid: bool
    iin_reason: str
    birth_date: str | None
    name_read: str
    name_match: bool
    name_score: float
    card_found: bool
    card_face_px: float | None
    live: FaceComparison
    enrolled: FaceComparison
    stream: FaceComparison
    """The card's face against the faces in the server's own pictures of the live video."""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def problems(self) -> tuple[str, ...]:
        """What the examiner should look at (empty: everything checked agreed)."""
        found: list[str] = []
        if not self.iin_valid:
            found.append(f"iin_{self.iin_reason}")
        if not self.name_match:
            found.append("name_mismatch")
        if self.card_face_px is None:
            found.append("no_card_face")
        if self.live.match is False:
            found.append("live_face_mismatch")
        if self.enrolled.match is False:
            found.append("enrolled_face_mismatch")
        if self.stream.match is False:
            found.append("stream_face_mismatch")
        elif self.stream.match is None and self.card_face_px is not None:
            found.append("stream_face_unverified")
        return tuple(found)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = list(self.problems)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentCheck:
        values = {k: v for k, v in data.items() if k not in {"problems", "passed"}}
        values["live"] = FaceComparison(**values["live"])
        values["enrolled"] = FaceComparison(**values["enrolled"])
        missing = {"distance": None, "threshold": 0.0, "match": None, "reason": "checked before the server kept any"}
        values["stream"] = FaceComparison(**values.get("stream", missing))
        return cls(**values)


@dataclass(frozen=True)
class CheckInputs:
    """A check's inputs: the card still (BGR), an optional face still, whom the card should show, and the server's
    own pictures (BGR) of the session's live video during the card step."""

    card: Image
    candidate_name: str
    enrolled: FaceEmbedding | None
    face: Image | None = None
    stream: tuple[Image, ...] = ()


def check_document(
    inputs: CheckInputs,
    config: IdentityConfig,
    detector: FaceDetector,
    encoder: FaceEncoder,
    tesseract: Tesseract,
) -> tuple[DocumentCheck, FaceEmbedding | None]:
    """Run the check; also returns the card face's embedding (a reference for a candidate enrolled without a photo,
    once an examiner confirms it). The detector and encoder are the caller's (not thread-safe: hold its lock)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round((now - since) * 1000, 1)
        return now

    outline = find_card(inputs.card)
    grey = card_image(inputs.card, outline)
    job = tesseract.start(grey)  # OCR runs in its own process while the faces are found and encoded here
    mark = lap("card_outline", started)
    faces = split_faces(inputs.card, detector, outline)
    card_face = encoder.encode(inputs.card, faces.card) if faces.card is not None else None
    if inputs.face is not None:
        live_box = detector.detect(inputs.face).largest
        live_face = encoder.encode(inputs.face, live_box) if live_box is not None else None
        live_missing = "no face on the face still"
    else:
        live_face = encoder.encode(inputs.card, faces.live) if faces.live is not None else None
        live_missing = "no live face beside the card"
    mark = lap("faces", mark)
    seen = stream_faces(inputs.stream, detector, encoder)
    mark = lap("stream_faces", mark)
    text = read_card(grey, tesseract, job, card_found=outline is not None)
    mark = lap("ocr_wait", mark)

    iin = validate_iin(text.iin)
    names = compare_names(" ".join(text.name_lines) or text.text, inputs.candidate_name)
    if not names.match and text.name_lines:  # a name word read outside the name lines (a lower-case slip)
        whole = compare_names(text.text, inputs.candidate_name)
        names = whole if whole.match else names
    face_px = round(faces.card.width, 1) if faces.card is not None else None
    threshold = card_threshold(
        face_px or 0.0, config.card_match_distance, config.card_small_match_distance, config.card_min_face_px
    )
    result = DocumentCheck(
        iin_masked=mask_iin(text.iin),
        iin_valid=iin.valid,
        iin_reason=iin.reason.value,
        birth_date=iin.birth_date.isoformat() if iin.birth_date else None,
        name_read=" ".join(text.name_lines)[:200],
        name_match=names.match,
        name_score=names.score,
        card_found=text.card_found,
        card_face_px=face_px,
        live=compare_to(card_face, live_face, threshold, live_missing),
        enrolled=compare_to(card_face, inputs.enrolled, threshold, "no enrolled photo"),
        stream=compare_to_stream(card_face, seen, threshold, bool(inputs.stream)),
        timings_ms=timings,
    )
    lap("names", mark)
    timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    return result, card_face


def stream_faces(pictures: tuple[Image, ...], detector: FaceDetector, encoder: FaceEncoder) -> list[FaceEmbedding]:
    """The candidate's face in up to STREAM_FACES of the server's pictures, spread over the step (STREAM_LOOKS of
    them are searched): pictures with a single face first (the card not yet raised), the largest face of each, at
    least STREAM_MIN_FACE_PX wide (so the portrait of a card held before the camera is not taken for the
    candidate)."""
    alone: list[tuple[Image, FaceBox]] = []
    crowded: list[tuple[Image, FaceBox]] = []
    for picture in _spread(list(pictures), STREAM_LOOKS):
        faces = [face for face in detector.detect(picture).faces if face.width >= STREAM_MIN_FACE_PX]
        if faces:
            (alone if len(faces) == 1 else crowded).append((picture, max(faces, key=lambda face: face.area)))
    chosen = _spread(alone, STREAM_FACES) or _spread(crowded, STREAM_FACES)
    return [encoder.encode(picture, box) for picture, box in chosen]


def compare_to_stream(
    card: FaceEmbedding | None, seen: list[FaceEmbedding], threshold: float, had_pictures: bool
) -> FaceComparison:
    """The card's face against the stream's faces: their median distance (one odd picture does not decide)."""
    if card is None:
        return FaceComparison(None, threshold, None, "no face found on the card")
    if not seen:
        reason = "no face in the server's pictures of the video" if had_pictures else "no live video in the step"
        return FaceComparison(None, threshold, None, reason)
    distance = round(float(np.median([card.distance(face) for face in seen])), 3)
    return FaceComparison(distance, threshold, distance <= threshold)


def _spread(items: list[T], count: int) -> list[T]:
    """`count` of the items, evenly spaced from the first to the last (all of them when there are no more)."""
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def embedding_from_bytes(data: bytes | None) -> FaceEmbedding | None:
    """A stored reference embedding (128 float64) as a FaceEmbedding (its box is not known)."""
    if data is None:
        return None
    return FaceEmbedding(np.frombuffer(data, dtype=np.float64).copy(), FaceBox(0, 0, 0, 0, 0))
