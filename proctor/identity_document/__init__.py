"""The ID card at the door: OCR of the IIN and name (tesseract kaz+rus), the IIN's check digit and date, the name
against the candidate's, and the card's photo against the live face and the enrolled photo."""

from proctor.identity_document.check import CheckInputs, DocumentCheck, check_document
from proctor.identity_document.iin import IinCheck, IinReason, validate_iin
from proctor.identity_document.names import NameMatch, compare_names

__all__ = [
    "CheckInputs",
    "DocumentCheck",
    "IinCheck",
    "IinReason",
    "NameMatch",
    "check_document",
    "compare_names",
    "validate_iin",
]
