"""The Kazakh individual identification number (IIN, ЖСН/ИИН): 12 digits that carry the birth date and a check digit.

Digits 1–6 are the birth date (YYMMDD); digit 7 gives the century and sex (1/2: 1800s, 3/4: 1900s, 5/6: 2000s; odd
for men); digits 8–11 a serial number; digit 12 the check digit: weights 1…11 over the first 11 digits, the sum
mod 11; when that is 10, weights 3,4,5,6,7,8,9,10,11,1,2; when that is 10 again the number is never issued. The
checksum alone passes `000000000000`, so the date and the century digit are checked too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

FIRST_WEIGHTS = tuple(range(1, 12))
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
CENTURIES = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


class IinReason(StrEnum):
    """Why an IIN is or is not valid (the examiner reads it; the page never shows it)."""

    VALID = "valid"
    NOT_FOUND = "not_found"
    """No 12-digit number was read on the card."""
    FORMAT = "format"
    """Not 12 digits."""
    CHECK_DIGIT = "check_digit"
    """The 12th digit is not the checksum of the others (or no checksum exists)."""
    CENTURY = "century"
    """The 7th digit is not 1–6."""
    DATE = "date"
    """Digits 1–6 are no calendar date, or a date in the future."""


@dataclass(frozen=True)
class IinCheck:
    """An IIN's validation: whether it is valid, why, and what it says (birth date and sex) when it is."""

    valid: bool
    reason: IinReason
    birth_date: date | None = None
    sex: str | None = None
    """`male` or `female` (odd or even century digit)."""


def check_digit(digits: str) -> int | None:
    """The 12th digit for the first 11, or None when both weightings give 10 (no IIN has these 11 digits)."""
    values = [int(d) for d in digits[:11]]
    for weights in (FIRST_WEIGHTS, SECOND_WEIGHTS):
        remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def validate_iin(iin: str | None, today: date | None = None) -> IinCheck:
    """Validate an IIN: 12 digits, the check digit, the century/sex digit and the birth date (not after `today`)."""
    if iin is None:
        return IinCheck(False, IinReason.NOT_FOUND)
    if len(iin) != 12 or not iin.isascii() or not iin.isdigit():
        return IinCheck(False, IinReason.FORMAT)
    expected = check_digit(iin)
    if expected is None or expected != int(iin[11]):
        return IinCheck(False, IinReason.CHECK_DIGIT)
    century = CENTURIES.get(int(iin[6]))
    if century is None:
        return IinCheck(False, IinReason.CENTURY)
    try:
        born = date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return IinCheck(False, IinReason.DATE)
    if born > (today or date.today()):
        return IinCheck(False, IinReason.DATE)
    return IinCheck(True, IinReason.VALID, birth_date=born, sex="male" if int(iin[6]) % 2 else "female")


def make_iin(born: date, female: bool, serial: int) -> str:
    """A valid IIN for a birth date, sex and 4-digit serial (the next serial when this one has no check digit);
    for test cards and demos: a real person's IIN is never made up here."""
    century = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100] + (1 if female else 0)
    for offset in range(10_000):
        head = f"{born:%y%m%d}{century}{(serial + offset) % 10_000:04d}"
        digit = check_digit(head)
        if digit is not None:
            return f"{head}{digit}"
    raise ValueError("no serial gives a check digit")  # unreachable: most serials have one


def mask_iin(iin: str | None) -> str:
    """An IIN as logs and the page may show it: the last 4 digits only (`********1234`)."""
    if not iin:
        return "-"
    return "*" * max(0, len(iin) - 4) + iin[-4:]
