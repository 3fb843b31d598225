"""The IIN's check digit, century digit and birth date."""

from __future__ import annotations

from datetime import date

import pytest

from proctor.identity_document.iin import IinReason, check_digit, make_iin, mask_iin, validate_iin
from tests.fixtures.id_cards import BIDEN, OBAMA, impossible_date, wrong_check_digit


def test_a_made_iin_is_valid_and_says_the_birth_date_and_sex() -> None:
    iin = make_iin(date(2004, 2, 29), True, 17)
    result = validate_iin(iin)
    assert result.valid and result.reason == IinReason.VALID
    assert result.birth_date == date(2004, 2, 29) and result.sex == "female"
    assert iin[6] == "6"


@pytest.mark.parametrize("person", [OBAMA, BIDEN])
def test_the_test_cards_iins_are_valid(person: object) -> None:
    assert validate_iin(person.iin).valid  # type: ignore[attr-defined]


def test_a_wrong_check_digit_is_refused() -> None:
    assert validate_iin(wrong_check_digit(OBAMA.iin)).reason == IinReason.CHECK_DIGIT


def test_an_impossible_date_is_refused_though_its_checksum_is_right() -> None:
    iin = impossible_date(OBAMA.iin)
    assert check_digit(iin) == int(iin[11])
    assert validate_iin(iin).reason == IinReason.DATE


def test_zeros_pass_the_checksum_but_not_the_century_digit() -> None:
    assert check_digit("000000000000") == 0
    assert validate_iin("000000000000").reason == IinReason.CENTURY


def test_a_birth_date_in_the_future_is_refused() -> None:
    iin = make_iin(date(2030, 1, 1), False, 5)
    assert validate_iin(iin, today=date(2026, 12, 7)).reason == IinReason.DATE


def test_the_second_weighting_is_used_when_the_first_gives_ten() -> None:
    # find 11 digits whose first weighted sum is 10 mod 11: the check digit then comes from the second weights
    for serial in range(10_000):
        head = f"9108043{serial:04d}"
        if sum(int(d) * w for d, w in zip(head, range(1, 12), strict=True)) % 11 == 10:
            second = sum(int(d) * w for d, w in zip(head, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)) % 11
            assert check_digit(head) == (None if second == 10 else second)
            break
    else:
        pytest.fail("no such serial")


@pytest.mark.parametrize("text", [None, "", "12345", "9108043123411", "91080431234a", "９１０８０４３１２３４１"])
def test_not_twelve_ascii_digits(text: str | None) -> None:
    result = validate_iin(text)
    assert not result.valid and result.reason in {IinReason.NOT_FOUND, IinReason.FORMAT}


def test_the_iin_is_masked_but_its_last_four_digits() -> None:
    assert mask_iin("910804312341") == "********2341"
    assert mask_iin(None) == "-"
