"""One text checked against an index: the candidates the LSH turns up, aligned passage by passage, and the shares of
the text they cover — per matched text and for the text as a whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proctor.material.align import Passage, covered, passages
from proctor.material.index import MaterialIndex
from proctor.material.normalise import Folding, Normalised
from proctor.material.signatures import Signatures


@dataclass(frozen=True)
class Match:
    """Another text with passages of the checked one: the share of the checked text's words they cover."""

    text_id: int
    estimate: float
    """The LSH signatures' estimate of the two texts' (segments') Jaccard similarity."""
    share: float
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Checked:
    """What one check found: the share of the text inside any matched passage, and each matched text."""

    words: int
    share: float
    matches: tuple[Match, ...]
    folding: Folding


def check(
    text: Normalised,
    rows: Signatures,
    index: MaterialIndex,
    load: Callable[[int], Normalised | None],
    keep: Callable[[int], bool] = lambda _: True,
    min_words: int = 12,
) -> Checked:
    """Check `text` (its signature rows) against the index; `load` gives a candidate's normalised text (None: gone),
    `keep` which indexed texts count (not the text itself, not its author's other texts, not another exam's)."""
    matches: list[Match] = []
    union: set[int] = set()
    for candidate in index.candidates(rows, keep):
        other = load(candidate.text_id)
        if other is None:
            continue
        found = passages(text, other, min_words)
        if not found:
            continue
        inside = covered(found)
        union |= inside
        share = len(inside) / max(len(text), 1)
        matches.append(Match(candidate.text_id, candidate.estimate, round(share, 4), tuple(found)))
    matches.sort(key=lambda match: (-match.share, match.text_id))
    return Checked(len(text), round(len(union) / max(len(text), 1), 4), tuple(matches), text.folding)
