"""Known answers built from the real Kazakh and Russian texts of the orders in tests/material/law (copies of the
public orders in ../shared/law, kept with the tests so a clean clone runs them): sections of each text,
and copies of a section changed the ways copiers change them (seeded, so every run builds the same texts)."""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path

LAW = Path(__file__).resolve().parent / "law"
SECTION_WORDS = 300
WORD = re.compile(r"\w+")

LATIN_2021 = str.maketrans(
    {
        "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
        "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
        "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
        "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
        "ю": "iu", "я": "ia",
    }
)  # fmt: skip
"""Kazakh Cyrillic to the Latin alphabet of 2021 (lower case; capitals below)."""
LOOK_ALIKES = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "А": "A", "О": "O"}


@dataclass(frozen=True)
class Section:
    """About SECTION_WORDS words of consecutive paragraphs of one order."""

    law: str
    number: int
    text: str

    @property
    def name(self) -> str:
        return f"{self.law}#{self.number}"


def _words(text: str) -> int:
    return len(WORD.findall(text))


@functools.cache
def sections(law: str) -> tuple[Section, ...]:
    """The order's text cut into sections of whole paragraphs (lines joined up to a sentence's end)."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in (LAW / law).read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines.append(line.strip())
        if lines and (not line.strip() or line.rstrip().endswith((".", ";", ":"))):
            paragraphs.append(" ".join(lines))  # a paragraph ends where a sentence ends at a line's end
            lines = []
    if lines:
        paragraphs.append(" ".join(lines))
    found: list[Section] = []
    current: list[str] = []
    for paragraph in paragraphs:
        current.append(paragraph)
        if sum(_words(p) for p in current) >= SECTION_WORDS:
            found.append(Section(law, len(found), "\n\n".join(current)))
            current = []
    return tuple(found)


def laws() -> list[str]:
    return sorted(path.name for path in LAW.glob("*.txt"))


def all_sections() -> list[Section]:
    return [section for law in laws() for section in sections(law)]


def change_words(text: str, share: float, seed: int, vocabulary: list[str]) -> str:
    """The text with `share` of its words replaced by words of `vocabulary` (drawn with `seed`)."""
    rng = random.Random(seed)
    spans = [match.span() for match in WORD.finditer(text)]
    chosen = sorted(rng.sample(range(len(spans)), round(share * len(spans))))
    pieces: list[str] = []
    last = 0
    for index in chosen:
        start, end = spans[index]
        pieces.append(text[last:start])
        pieces.append(rng.choice(vocabulary))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def reorder_paragraphs(text: str, seed: int) -> str:
    """The paragraphs (or, for a one-paragraph text, its sentences) in another order."""
    parts = text.split("\n\n")
    if len(parts) < 3:
        parts = re.split(r"(?<=[.;:])\s+", text)
    rng = random.Random(seed)
    order = list(range(len(parts)))
    while order == sorted(order) and len(order) > 1:
        rng.shuffle(order)
    return "\n\n".join(parts[i] for i in order)


def mix_alphabets(text: str, seed: int, share: float = 0.5) -> str:
    """Cyrillic letters swapped for Latin look-alikes in `share` of the words (a trick against checkers)."""
    rng = random.Random(seed)

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        if rng.random() >= share:
            return word
        return "".join(LOOK_ALIKES.get(char, char) for char in word)

    return WORD.sub(swap, text)


def to_latin(text: str) -> str:
    """Kazakh Cyrillic written in the 2021 Latin alphabet."""

    def one(char: str) -> str:
        lower = char.lower()
        latin = lower.translate(LATIN_2021)
        return latin.capitalize() if char != lower else latin

    return "".join(one(char) for char in text)


def vocabulary(section: Section) -> list[str]:
    """Words of the same order outside the section: what a changed copy's new words are drawn from."""
    words: list[str] = []
    for other in sections(section.law):
        if other.number != section.number:
            words.extend(WORD.findall(other.text))
    return words or ["сөз", "слово"]
