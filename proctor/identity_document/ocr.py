"""Reading the card: find it in the still, straighten it, and read its text with tesseract (Kazakh + Russian).

Tesseract runs as Debian's CLI with the image on stdin and the text on stdout: the card picture (biometric data)
never touches the disk unencrypted, which pytesseract's temporary files would do. The card is found as the largest
four-cornered outline and warped flat to a fixed size (perspective and low resolution alike); when no outline is
found the whole still is read, grey and upscaled. A second pass with an adaptive threshold runs only when the
first found no IIN (glare and uneven light).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass

import cv2
import numpy as np

from proctor.frames import Image
from proctor.identity_document.iin import validate_iin

logger = logging.getLogger(__name__)

CARD_SIZE = (1000, 630)
"""The straightened card (ID-1 proportions) that OCR reads: its text is 20–45 px high, tesseract's best range."""
MIN_CARD_SHARE = 0.2
"""A card outline covers at least this share of the still."""
OCR_TIMEOUT_S = 5.0
LANGUAGES = "kaz+rus"

DIGIT_LOOKALIKES = str.maketrans("OoОоDlI|і!ЗзбSBВ", "0000011111336588")
"""Letters tesseract reads instead of digits in a line of digits."""
DIGIT_RUN = re.compile(r"[0-9OoОоDlI|і!ЗзбSBВ](?:[0-9OoОоDlI|і!ЗзбSBВ ]*[0-9OoОоDlI|і!ЗзбSBВ])?")
IIN_LABEL = re.compile(r"(жсн|иин|иин|жсн|iin)", re.IGNORECASE)
LABEL_WORDS = frozenset(
    "қазақстан республикасы республика казахстан жеке куәлік удостоверение личности тегі фамилия аты имя "
    "әкесінің отчество туған күні дата рождения жсн иин берілген күні выдан мвд ішкі істер министрлігі".split()
)
"""Printed captions of the card's front (Kazakh and Russian): never part of the holder's name."""
LETTERS = re.compile(r"^[^\W\d_]+(?:-[^\W\d_]+)?$")


class OcrUnavailable(RuntimeError):
    """Tesseract (or its kaz/rus data) is not installed: `make system-deps` installs it."""


@dataclass(frozen=True)
class CardText:
    """What OCR read on the card: the IIN (as read, digits only), the name lines and whether the card outline was
    found and straightened."""

    text: str
    iin: str | None
    name_lines: tuple[str, ...]
    card_found: bool
    passes: int


@dataclass(frozen=True)
class CardOutline:
    """The card's four corners in the still (top-left, top-right, bottom-right, bottom-left)."""

    corners: np.ndarray

    def contains(self, x: float, y: float) -> bool:
        return cv2.pointPolygonTest(self.corners.astype(np.float32), (float(x), float(y)), False) >= 0

    @property
    def width(self) -> float:
        c = self.corners
        return float((np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2)


def find_card(image: Image) -> CardOutline | None:
    """The largest convex four-cornered outline covering at least MIN_CARD_SHARE of the still, or None."""
    scale = 640.0 / max(image.shape[1], 1)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    scale = min(scale, 1.0)
    smooth = cv2.GaussianBlur(small, (5, 5), 0)
    # edges in any colour channel: a coloured card edge on a grey desk can have the desk's brightness
    edges = np.max([cv2.Canny(smooth[..., channel], 30, 90) for channel in range(3)], axis=0)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area_min = MIN_CARD_SHARE * small.shape[0] * small.shape[1]
    best: np.ndarray | None = None
    best_area = 0.0
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        if area < area_min or area <= best_area:
            continue
        approx = cv2.approxPolyDP(hull, 0.03 * cv2.arcLength(hull, True), True)
        if len(approx) == 4 and _card_shaped(_order(approx.reshape(4, 2).astype(np.float32))):
            best, best_area = approx.reshape(4, 2).astype(np.float32), area
    if best is None:
        return None
    return CardOutline(_order(best / scale))


def _card_shaped(corners: np.ndarray) -> bool:
    """Sides in about the ID-1 proportion (85.6 : 54 = 1.59), allowing for a tilted card."""
    width = (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    height = (np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2
    return bool(height > 0 and 1.25 <= width / height <= 2.0)


def _order(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    total, diff = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array(
        [points[np.argmin(total)], points[np.argmin(diff)], points[np.argmax(total)], points[np.argmax(diff)]],
        dtype=np.float32,
    )


def straighten(image: Image, outline: CardOutline) -> Image:
    """The card warped flat to CARD_SIZE."""
    width, height = CARD_SIZE
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(outline.corners, target)
    return np.asarray(cv2.warpPerspective(image, matrix, CARD_SIZE, flags=cv2.INTER_CUBIC), dtype=np.uint8)


def prepare(image: Image) -> Image:
    """Grey, upscaled so that the card is about CARD_SIZE wide (small stills), for the first OCR pass."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if grey.shape[1] < CARD_SIZE[0]:
        factor = CARD_SIZE[0] / grey.shape[1]
        grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return np.asarray(grey, dtype=np.uint8)


def threshold(grey: Image) -> Image:
    """Adaptive threshold (uneven light, glare): the second pass."""
    binary = cv2.adaptiveThreshold(
        cv2.GaussianBlur(grey, (3, 3), 0), 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15
    )
    return np.asarray(binary, dtype=np.uint8)


class Tesseract:
    """The tesseract CLI, one process per image (about 0.3–0.6 s for a card on one core)."""

    def __init__(self, binary: str | None = None, languages: str = LANGUAGES) -> None:
        found = binary or shutil.which("tesseract")
        if found is None:
            raise OcrUnavailable(
                "tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-kaz tesseract-ocr-rus)"
            )
        self.binary = found
        self.languages = languages

    def start(self, grey: Image) -> OcrJob:
        """Start reading `grey` (PNG over stdin); `finish` collects the text, so other work can run meanwhile."""
        ok, png = cv2.imencode(".png", grey)
        if not ok:
            raise ValueError("the card image cannot be encoded")
        try:
            process = subprocess.Popen(
                [self.binary, "stdin", "stdout", "-l", self.languages, "--psm", "6"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
            )
        except OSError as exc:
            raise OcrUnavailable(f"tesseract cannot be started: {exc}") from exc
        return OcrJob(process, png.tobytes(), self.languages)

    def read(self, grey: Image) -> str:
        return self.start(grey).finish()


@dataclass(frozen=True)
class OcrJob:
    """A tesseract process reading one image."""

    process: subprocess.Popen[bytes]
    png: bytes
    languages: str

    def finish(self) -> str:
        """The text read; empty when tesseract failed or ran out of time (logged without the text)."""
        try:
            out, err = self.process.communicate(self.png, timeout=OCR_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            logger.warning("tesseract took longer than %.0f s on a card; its text is not read", OCR_TIMEOUT_S)
            return ""
        if self.process.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines() or [""]
            if any("Failed loading language" in line for line in message):
                raise OcrUnavailable(f"tesseract lacks its {self.languages} data: {message[-1]}")
            logger.warning("tesseract failed on a card (exit %s)", self.process.returncode)
            return ""
        return out.decode("utf-8", "replace")


def find_iin(text: str) -> str | None:
    """The 12-digit IIN in OCR text: digit runs with look-alike letters read as digits and spaces dropped; a run that
    validates wins, then one on the ЖСН/ИИН line, then any 12 digits."""
    found: list[tuple[int, str]] = []
    for line in text.splitlines():
        labelled = bool(IIN_LABEL.search(line))
        for match in DIGIT_RUN.finditer(line):
            digits = match.group().translate(DIGIT_LOOKALIKES).replace(" ", "")
            if not digits.isdigit():
                continue
            for start in range(0, max(1, len(digits) - 11)):
                candidate = digits[start : start + 12]
                if len(candidate) == 12:
                    rank = (2 if validate_iin(candidate).valid else 0) + (1 if labelled else 0)
                    found.append((rank, candidate))
    if not found:
        return None
    return max(found, key=lambda pair: pair[0])[1]


def find_name_lines(text: str) -> tuple[str, ...]:
    """The holder's name as lines of capital words (the card prints names in capitals) that are not its printed
    captions; marks the photo's edge was read as (`ым`, `т м`) are dropped."""
    lines: list[str] = []
    for raw in text.splitlines():
        words = [w.strip(".,:;!|”\"'«»<>") for w in re.split(r"[\s/]+", raw.strip())]
        kept = [w for w in words if len(w) >= 3 and _capital_word(w) and w.lower() not in LABEL_WORDS]
        if kept and not any(w.lower() in LABEL_WORDS for w in words if w):
            lines.append(" ".join(kept))
    return tuple(lines)


def _capital_word(word: str) -> bool:
    """Letters only, at least 40 % capitals (OCR sets some capitals in lower case: `сейтқАЛИЕВв`)."""
    return bool(LETTERS.match(word)) and sum(ch.isupper() for ch in word) * 5 >= len(word) * 2


def card_image(image: Image, outline: CardOutline | None) -> Image:
    """The grey image OCR reads: the card straightened when its outline is known, else the whole still."""
    return prepare(straighten(image, outline) if outline is not None else image)


def read_card(grey: Image, tesseract: Tesseract, first: OcrJob | None = None, *, card_found: bool) -> CardText:
    """OCR of the prepared card image (`first`: its pass already started); a thresholded second pass when the first
    found no IIN that validates."""
    text = (first or tesseract.start(grey)).finish()
    iin, passes = find_iin(text), 1
    if iin is None or not validate_iin(iin).valid:
        second = tesseract.read(threshold(grey))
        passes = 2
        other = find_iin(second)
        if other is not None and (iin is None or validate_iin(other).valid):
            iin = other
        text = f"{text}\n{second}"
    return CardText(text, iin, find_name_lines(text), card_found, passes)
