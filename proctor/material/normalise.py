"""Written text to comparable terms: NFKC, invisible characters dropped, Latin/Cyrillic look-alikes folded inside a
word, Kazakh Latin (2021) and Cyrillic brought to one skeleton, case folded, Russian words stemmed (Snowball) and
every term cut to its first letters — with each term's place in the original text and a count of what folding did.

A word that mixes alphabets ("Қaзaқcтaн" with Latin a and c) reads as a word to people and as garbage to a naive
checker: it is folded, counted and reported, because an answer that does it is a finding of its own.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

import snowballstemmer

PREFIX = 6
"""Terms keep this many skeleton letters: Kazakh has no maintained stemmer, and six letters hold most roots."""

INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u034f"), None)
"""Soft hyphen, zero-width space/joiners, word joiner, BOM, grapheme joiner: dropped inside a word."""

WORD = re.compile(r"[\w\u00ad\u200b-\u200d\u2060\ufeff\u034f\u0300-\u036f]+")


LATIN_TO_CYRILLIC = str.maketrans(
    {
        "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "ı": "і", "ə": "ә",
        "ɵ": "ө", "s": "ѕ", "j": "ј", "k": "к", "n": "п", "u": "и", "b": "ь", "h": "һ",
        "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О", "P": "Р", "T": "Т",
        "X": "Х", "Y": "У", "I": "І", "Ə": "Ә",
        "α": "а", "ε": "е", "ο": "о", "ρ": "р", "κ": "к", "τ": "т", "χ": "х", "υ": "у", "ι": "і",
        "Α": "А", "Β": "В", "Ε": "Е", "Η": "Н", "Κ": "К", "Μ": "М", "Ο": "О", "Ρ": "Р", "Τ": "Т", "Χ": "Х",
    }
)  # fmt: skip
"""Letters (and Greek ones) that look like Cyrillic letters, put inside a Cyrillic word to hide it from checkers;
upper and lower case apart (a Latin `H` looks like `Н`, a Latin `h` like `һ`)."""
CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "с": "c", "е": "e", "о": "o", "р": "p", "х": "x", "у": "y", "і": "i", "ә": "ə", "ө": "ɵ",
        "ѕ": "s", "ј": "j", "к": "k", "п": "n", "и": "u", "ь": "b", "һ": "h",
        "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "О": "O", "Р": "P", "Т": "T",
        "Х": "X", "У": "Y", "І": "I", "Ә": "Ə",
    }
)  # fmt: skip
"""The other way: Cyrillic letters that look like Latin ones, inside a Latin word."""

SKELETON = str.maketrans(
    {
        # Cyrillic (Kazakh and Russian)
        "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "io", "ж": "j",
        "з": "z", "и": "i", "й": "i", "і": "i", "ы": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n",
        "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u",
        "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "c", "ш": "s", "щ": "ss", "ъ": "", "ь": "", "э": "e",
        "ю": "iu", "я": "ia", "ѕ": "s", "ј": "j",
        # Kazakh Latin (2021) and its neighbours
        "ä": "a", "ğ": "g", "ı": "i", "ñ": "n", "ö": "o", "ş": "s", "ū": "u", "ü": "u", "ç": "c", "q": "k",
        "y": "i", "w": "u", "x": "h", "ə": "a", "ɵ": "o",
    }
)  # fmt: skip
"""Kazakh Cyrillic, Russian and Kazakh Latin letters to one lossy skeleton: the alphabet a text is written in, and
the letters the alphabets disagree on (і/ы/и, у/ұ/ү, қ/к), stop telling two texts apart."""


@functools.cache
def _russian() -> snowballstemmer.Stemmer:
    return snowballstemmer.stemmer("russian")


@dataclass(frozen=True)
class Folding:
    """What normalisation had to undo in one text."""

    mixed_words: int = 0
    """Words that mixed Latin and Cyrillic letters (look-alikes folded into the word's main alphabet)."""
    mixed_examples: tuple[str, ...] = ()
    """Up to five of them, as written."""
    invisible: int = 0
    """Invisible characters (zero-width, soft hyphens) found inside words."""
    compatibility: int = 0
    """Words that NFKC changed (full-width, ligatures, other compatibility forms)."""
    latin_kazakh_words: int = 0
    """Words written in the Kazakh Latin alphabet (brought to the same skeleton as Cyrillic)."""


@dataclass(frozen=True)
class Normalised:
    """A text as terms, with where each term's word stands in the original text (character offsets)."""

    terms: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    language: str
    """"kk", "ru" or "" (too little Cyrillic to say)."""
    folding: Folding = field(default_factory=Folding)

    def __len__(self) -> int:
        return len(self.terms)


def _fold_mixed(word: str) -> str:
    """The word with look-alike letters of its minority alphabet folded into its majority one."""
    cyrillic = len(CYRILLIC.findall(word))
    if cyrillic * 2 >= len(word):
        return word.translate(LATIN_TO_CYRILLIC)
    return word.translate(CYRILLIC_TO_LATIN)


DIGRAPHS = (("sh", "ş"), ("ch", "ç"), ("zh", "j"))
"""Informal Latin spellings of ш, ч, ж."""
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN_LIKE = re.compile(r"[A-Za-z\u00c0-\u02af\u0370-\u03ff]")
KAZAKH_CYRILLIC_LETTER = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
KAZAKH_LATIN_WORD = re.compile(r"\b\w*[äğıñöşūüçqÄĞIÑÖŞŪÜÇQ]\w*\b")


def _language(text: str, latin_kazakh_words: int, words: int) -> str:
    """ "kk" for Kazakh (Cyrillic with its own letters, or the Latin alphabet), "ru" for Russian, "" otherwise."""
    if latin_kazakh_words * 20 >= max(words, 1):
        return "kk"
    cyrillic = len(CYRILLIC.findall(text))
    if cyrillic == 0:
        return ""
    return "kk" if len(KAZAKH_CYRILLIC_LETTER.findall(text)) * 100 >= cyrillic else "ru"


def normalise(text: str) -> Normalised:
    """The text's terms in order, each with the span of its word in `text`."""
    compatible = unicodedata.is_normalized("NFKC", text)
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    mixed = invisible = compat = latin_kk = 0
    examples: list[str] = []
    for match in WORD.finditer(text):
        word = raw = match.group()
        if not raw.isalnum():
            word = raw.translate(INVISIBLE)
            invisible += len(raw) - len(word)
        if not compatible:
            folded = unicodedata.normalize("NFKC", word)
            compat += folded != word
            word = folded
        if not word.isalnum():
            word = "".join(char for char in unicodedata.normalize("NFC", word) if char.isalnum())
            if not word:
                continue
        if len(word) < 2 and word.isdigit():
            continue
        if CYRILLIC.search(word) and LATIN_LIKE.search(word):
            word = _fold_mixed(word)
            mixed += 1
            if len(examples) < 5:
                examples.append(raw)
        words.append(word.casefold().replace("\u0307", ""))  # İ folds to i + a combining dot
        starts.append(match.start())
        ends.append(match.end())
    latin_kk = sum(1 for word in words if KAZAKH_LATIN_WORD.match(word))
    language = _language(text, latin_kk, len(words))
    terms = tuple(_term(word, language) for word in words)
    folding = Folding(mixed, tuple(examples), invisible, compat, latin_kk)
    return Normalised(terms, tuple(starts), tuple(ends), language, folding)


@functools.lru_cache(maxsize=1 << 18)
def _term(word: str, language: str) -> str:
    if language == "ru" and word[0] >= "\u0400" and not KAZAKH_CYRILLIC_LETTER.search(word):
        word = _russian().stemWord(word)
    if word[0] < "\u0400":
        for digraph, letter in DIGRAPHS:
            word = word.replace(digraph, letter)
    return word.translate(SKELETON)[:PREFIX]
