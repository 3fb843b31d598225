"""Whether the name read on an ID card is the candidate's: Kazakh and Russian Cyrillic, the Kazakh Latin alphabet
(2021) and passport-style transliteration all fold to one plain Latin spelling, and OCR slips are tolerated by a
similarity ratio per word.

Surname, given name and patronymic may come in any order and the card may lose a word (the patronymic): the name
matches when `min(2, words)` of the candidate's words each find a distinct word on the card at least
`MATCH_RATIO` alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

MATCH_RATIO = 0.8
"""Per-word similarity (difflib ratio of the folded spellings) at or above which two words are one name: an OCR slip
of one letter in a 6-letter name gives 0.83; different names of one length rarely pass 0.6."""

CYRILLIC = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o",
    "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh",
    "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}  # fmt: skip
"""Kazakh and Russian letters to Latin (the ICAO passport table, Kazakh letters to their nearest plain letter)."""

LATIN_SPECIAL = {"ğ": "g", "ñ": "n", "ş": "sh", "ç": "ch", "ı": "i", "ä": "a", "ö": "o", "ü": "u", "ū": "u", "ī": "i"}
"""Letters of the Kazakh Latin alphabet (2021) with their plain spelling."""

FOLDS = (
    ("shch", "sh"), ("kh", "h"), ("zh", "j"), ("ts", "c"), ("ch", "c"), ("yu", "iu"), ("ya", "ia"), ("yo", "io"),
    ("ye", "e"), ("y", "i"), ("w", "u"), ("q", "k"), ("x", "h"),
)  # fmt: skip
"""Spellings that transliterations disagree on, folded to one (Zhanna/Janna, Khan/Han, Yuriy/Iurii, Qazaq/Kazak)."""

HOMOGLYPHS = str.maketrans("ABCEHKMOPTXYaceiopxy", "АВСЕНКМОРТХУасеіорху")
"""Latin letters that look like Cyrillic ones: OCR mixes them into Cyrillic words (and people defeat checks so)."""

WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def fold(word: str) -> str:
    """One word in the plain Latin spelling every alphabet and transliteration of it folds to."""
    text = unicodedata.normalize("NFC", word)
    if any("\u0400" <= letter <= "\u04ff" for letter in text):  # a Cyrillic word: its Latin look-alikes are Cyrillic
        text = text.translate(HOMOGLYPHS)
    text = text.lower()
    out: list[str] = []
    for letter in text:
        if letter in CYRILLIC:
            out.append(CYRILLIC[letter])
        elif letter in LATIN_SPECIAL:
            out.append(LATIN_SPECIAL[letter])
        elif letter.isascii() and letter.isalpha():
            out.append(letter)
        else:  # other accents: the base letter
            base = unicodedata.normalize("NFD", letter)[0]
            if base.isascii() and base.isalpha():
                out.append(base)
    folded = "".join(out)
    for spelling, plain in FOLDS:
        folded = folded.replace(spelling, plain)
    return folded


def name_words(text: str) -> list[str]:
    """The folded words of a name (two letters or more)."""
    return [w for w in (fold(m.group()) for m in WORD.finditer(text)) if len(w) >= 2]


@dataclass(frozen=True)
class NameMatch:
    """How well the name read on the card fits the candidate's: the mean similarity of the candidate's best-matched
    words (0–1) and whether enough of them matched."""

    match: bool
    score: float
    matched_words: int
    candidate_words: int


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def compare_names(read: str, candidate: str, ratio: float = MATCH_RATIO) -> NameMatch:
    """Compare the name text read on the card with the candidate's full name (any order, any of the alphabets)."""
    wanted = name_words(candidate)
    seen = name_words(read)
    if not wanted or not seen:
        return NameMatch(False, 0.0, 0, len(wanted))
    pairs = sorted(((similarity(w, s), i, j) for i, w in enumerate(wanted) for j, s in enumerate(seen)), reverse=True)
    best: dict[int, float] = {}
    used: set[int] = set()
    for score, i, j in pairs:  # greedy one-to-one: each card word serves one candidate word
        if i in best or j in used:
            continue
        best[i] = score
        used.add(j)
    scores = sorted(best.values(), reverse=True)
    needed = min(2, len(wanted))
    matched = sum(1 for s in scores if s >= ratio)
    top = scores[:needed]
    mean = sum(top) / needed if top else 0.0
    return NameMatch(matched >= needed, round(mean, 3), matched, len(wanted))
