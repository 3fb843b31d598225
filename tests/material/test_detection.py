"""Known answers from the real orders in ../shared/law: every section of every order copied exactly, with 10, 20 and
30 % of its words changed, with its paragraphs reordered, with Latin look-alikes mixed into its words and (Kazakh)
in the Latin alphabet of 2021 — each found among all the sections with its passages; different sections of one order
are not taken for copies of each other (beyond the passages the order itself repeats word for word)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from proctor.material.align import passages
from proctor.material.check import Checked, check
from proctor.material.config import MaterialConfig
from proctor.material.index import MaterialIndex
from proctor.material.normalise import Normalised, normalise
from proctor.material.signatures import minhash, segments, shingle_values, signatures
from tests.material.corpus import (
    Section,
    all_sections,
    change_words,
    mix_alphabets,
    reorder_paragraphs,
    to_latin,
    vocabulary,
)

DEFAULT = MaterialConfig()
SECTIONS = all_sections()
VARIANTS: dict[str, Callable[[Section], str]] = {
    "exact": lambda s: s.text,
    "changed_10": lambda s: change_words(s.text, 0.1, s.number, vocabulary(s)),
    "changed_20": lambda s: change_words(s.text, 0.2, s.number, vocabulary(s)),
    "changed_30": lambda s: change_words(s.text, 0.3, s.number, vocabulary(s)),
    "reordered": lambda s: reorder_paragraphs(s.text, s.number),
    "mixed_alphabets": lambda s: mix_alphabets(s.text, s.number),
    "latin": lambda s: to_latin(s.text),
}


@pytest.fixture(scope="module")
def corpus() -> tuple[MaterialIndex, dict[int, Normalised]]:
    """Every section of every order, indexed as a college's reference sources."""
    index = MaterialIndex()
    kept: dict[int, Normalised] = {}
    for number, section in enumerate(SECTIONS):
        kept[number] = normalise(section.text)
        index.add(number, signatures(kept[number].terms))
    return index, kept


def checked(text: str, corpus: tuple[MaterialIndex, dict[int, Normalised]]) -> tuple[Normalised, Checked]:
    index, kept = corpus
    normalised = normalise(text)
    return normalised, check(normalised, signatures(normalised.terms), index, kept.get)


def test_there_are_sections_of_each_order_in_both_languages() -> None:
    languages = {normalise(section.text).language for section in SECTIONS}
    assert languages == {"kk", "ru"}
    assert len(SECTIONS) >= 30


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_copy_is_found_with_its_passages(
    variant: str, corpus: tuple[MaterialIndex, dict[int, Normalised]]
) -> None:
    shares: list[float] = []
    for number, section in enumerate(SECTIONS):
        if variant == "latin" and normalise(section.text).language != "kk":
            continue
        copy = VARIANTS[variant](section)
        normalised, result = checked(copy, corpus)
        found = {match.text_id: match for match in result.matches}
        assert number in found, f"{variant} of {section.name} not found"
        match = found[number]
        shares.append(match.share)
        assert match.share >= DEFAULT.answer_share_from, f"{variant} of {section.name}: share {match.share}"
        for passage in match.passages:  # the positions are the original texts' own
            assert 0 <= passage.a_start < passage.a_end <= len(copy)
            assert 0 <= passage.b_start < passage.b_end <= len(section.text)
            if variant == "exact":
                assert copy[passage.a_start : passage.a_end] == section.text[passage.b_start : passage.b_end]
        if variant == "mixed_alphabets":
            assert result.folding.mixed_words >= DEFAULT.mixed_alphabet_words_from
        if variant == "latin":
            assert result.folding.latin_kazakh_words > len(normalised) // 5
    floor = {"exact": 1.0, "changed_10": 0.95, "changed_20": 0.9, "changed_30": 0.8, "reordered": 0.8}
    assert min(shares) >= floor.get(variant, 0.95)


def test_changed_words_are_marked_on_both_sides(corpus: tuple[MaterialIndex, dict[int, Normalised]]) -> None:
    section = SECTIONS[5]
    copy = change_words(section.text, 0.2, 1, vocabulary(section))
    _, result = checked(copy, corpus)
    passage = next(match for match in result.matches if match.text_id == 5).passages[0]
    changed = [piece for piece in passage.a_pieces if piece.kind != "equal"]
    assert changed and all(copy[p.start : p.end] not in ("", " ") for p in changed)
    equal_a = [copy[p.start : p.end] for p in passage.a_pieces if p.kind == "equal"]
    equal_b = [section.text[p.start : p.end] for p in passage.b_pieces if p.kind == "equal"]
    assert len(equal_a) == len(equal_b) and equal_a[0].split()[0] == equal_b[0].split()[0]


def false_positives(min_share: float) -> tuple[int, int, list[tuple[str, str, float]]]:
    """Pairs of different sections of one order whose share reaches `min_share`: (flagged, pairs, which)."""
    pairs = flagged = 0
    which: list[tuple[str, str, float]] = []
    for first, second in itertools.permutations(SECTIONS, 2):
        if first.law != second.law:
            continue
        pairs += 1
        a, b = normalise(first.text), normalise(second.text)
        found = passages(a, b, DEFAULT.min_passage_words)
        share = len({i for p in found for i in range(p.a_first, p.a_last + 1)}) / len(a)
        if share >= min_share:
            flagged += 1
            which.append((first.name, second.name, share))
    return flagged, pairs, which


def test_different_sections_of_one_order_are_rarely_taken_for_copies() -> None:
    flagged, pairs, which = false_positives(DEFAULT.answer_share_from)
    assert pairs > 200
    assert flagged / pairs <= 0.02, which


def test_signatures_are_datasketch_minhashes() -> None:
    terms = normalise(SECTIONS[0].text + " " + SECTIONS[1].text).terms
    rows = signatures(terms)
    values = shingle_values(terms)
    bounds = segments(len(values))
    assert len(rows) == len(bounds) >= 2
    for row, (start, end) in zip(rows, bounds, strict=True):
        assert np.array_equal(row, minhash(values[start:end]).hashvalues)


def test_unrelated_answers_are_not_candidates(corpus: tuple[MaterialIndex, dict[int, Normalised]]) -> None:
    _, result = checked("Сәлем! Бүгін ауа райы жақсы, біз саябаққа серуендеуге бардық және балмұздақ жедік.", corpus)
    assert result.matches == ()
