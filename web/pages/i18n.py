"""The pages' languages: Kazakh, Russian and English message catalogs (gettext `.po` files read with Babel), the
choice of language for a request, and locale formats.

Message ids are stable keys (`consent.title`); each catalog gives the text in its language, with
`{name}` placeholders filled in by the server (templates) or the page (JavaScript). Every key must be in
every catalog (a test checks), so nothing ever falls back to another language silently.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
"""When the browser asks for none of ours: the state language."""
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class MissingMessage(KeyError):
    """A key used by a page that a catalog lacks (a bug: the catalog test names it)."""


@dataclass(frozen=True)
class Catalog:
    """The messages of one language."""

    language: str
    messages: dict[str, str]

    def text(self, key: str, **values: object) -> str:
        """The message `key` with its placeholders filled in."""
        try:
            message = self.messages[key]
        except KeyError:
            raise MissingMessage(f"{self.language}: no message {key!r}") from None
        return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), message)

    def number(self, value: float, decimals: int = 0) -> str:
        return format_decimal(round(value, decimals), locale=Locale.parse(self.language))


def catalog_files(language: str) -> list[Path]:
    """The `.po` files of a language: the student page's `locale/<language>.po` and one per page family
    (`locale/<family>/<language>.po`, e.g. the examiner desk's), read as one catalog."""
    return [LOCALE_DIR / f"{language}.po", *sorted(LOCALE_DIR.glob(f"*/{language}.po"))]


def _read(path: Path, language: str) -> dict[str, str]:
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str)}


@functools.cache
def family_messages(language: str, family: str | None = None) -> dict[str, str]:
    """The messages of one page family's file only (None: the student page's), for a page's script: a page
    sends its own family's texts, not every page's."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for {language!r}: languages are {', '.join(LANGUAGES)}")
    path = LOCALE_DIR / f"{language}.po" if family is None else LOCALE_DIR / family / f"{language}.po"
    return _read(path, language)


@functools.cache
def catalog(language: str) -> Catalog:
    """The catalog of `language` (read once from its `.po` files; a key defined twice is a bug)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for {language!r}: languages are {', '.join(LANGUAGES)}")
    messages: dict[str, str] = {}
    for path in catalog_files(language):
        for key, text in _read(path, language).items():
            if key in messages:
                raise ValueError(f"{path.parent.name}/{path.name}: {key!r} is defined twice")
            messages[key] = text
    return Catalog(language, messages)


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """`?lang=` when it names one of ours, else the browser's most preferred of ours, else the default."""
    if requested in LANGUAGES:
        return requested
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANGUAGE
