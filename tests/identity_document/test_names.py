"""The name read on the card against the candidate's: alphabets, transliteration, order and OCR slips."""

from __future__ import annotations

import pytest

from proctor.identity_document.names import compare_names, fold


@pytest.mark.parametrize(
    "spelling",
    ["Сейтқалиев", "СЕЙТКАЛИЕВ", "Seitqaliev", "Seıtqalıev", "Seitkaliyev", "CEЙTKAЛИEB"],  # last: Latin look-alikes
)
def test_every_spelling_folds_to_one(spelling: str) -> None:
    assert fold(spelling) == fold("Сейтқалиев")


@pytest.mark.parametrize(
    ("read", "candidate"),
    [
        ("СЕЙТҚАЛИЕВ ЕРЛАН МАРАТҰЛЫ", "Ерлан Сейтқалиев"),  # order, patronymic on the card only
        ("СЕЙТКАЛИЕВ ЕРЛАН", "Yerlan Seitkaliyev"),  # Latin transliteration of the candidate's name
        ("SEITQALIEV YERLAN", "Ерлан Маратұлы Сейтқалиев"),  # Kazakh Latin card, patronymic missed by OCR
        ("ЖАННА НУРЛАНОВА", "Zhanna Nurlanova"),
        ("СЕИТКАЛИЕВ ЕРЛАИ", "Сейтқалиев Ерлан"),  # two OCR slips
    ],
)
def test_names_match(read: str, candidate: str) -> None:
    result = compare_names(read, candidate)
    assert result.match, result


@pytest.mark.parametrize(
    ("read", "candidate"),
    [
        ("НҰРЛАНОВ ДӘУРЕН ҚАЙРАТҰЛЫ", "Ерлан Сейтқалиев"),
        ("СЕЙТҚАЛИЕВ ДӘУРЕН", "Ерлан Сейтқалиев"),  # the same surname is not the same person
        ("", "Ерлан Сейтқалиев"),
    ],
)
def test_names_do_not_match(read: str, candidate: str) -> None:
    result = compare_names(read, candidate)
    assert not result.match, result
