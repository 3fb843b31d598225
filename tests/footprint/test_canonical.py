"""Canonical JSON of ledger records: the fast path writes exactly what the RFC 8785 reference writes."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from footprint.ledger import LedgerError, canonical
from footprint.ledger.entries import MAX_SAFE_INTEGER

keys = st.one_of(st.text(max_size=8), st.sampled_from(["a", "é", "\ue000", "\U0001f600", "z", "\u00e9t"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=25
)


@settings(max_examples=800)
@given(values)
def test_canonical_equals_the_rfc8785_reference(value: Any) -> None:
    record = {"v": value}
    try:
        expected = rfc8785.dumps(record)
    except rfc8785.CanonicalizationError:
        with pytest.raises(LedgerError):
            canonical(record)
        return
    assert canonical(record) == expected


@pytest.mark.parametrize(
    "record",
    [
        {"b": 1, "a": [True, None, 'x\u0001\u2028"\\'], "é": {"\ue000": 0, "\U0001f600": 1}},  # key order by UTF-16
        {"score": 0.5, "big": 1e21, "small": 1e-7, "whole": 100.0},  # ECMAScript number forms
        {"n": MAX_SAFE_INTEGER, "m": -MAX_SAFE_INTEGER},
    ],
)
def test_canonical_on_the_hard_cases(record: dict[str, Any]) -> None:
    assert canonical(record) == rfc8785.dumps(record)


def test_values_json_cannot_carry_exactly_are_refused() -> None:
    for record in ({"n": MAX_SAFE_INTEGER + 1}, {"s": "\ud800"}, {"f": float("nan")}):
        with pytest.raises(LedgerError):
            canonical(record)
