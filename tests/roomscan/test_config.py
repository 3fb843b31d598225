"""The room-scan config refuses unknown keys and out-of-range values, and documents every field."""

from __future__ import annotations

import types

import pytest
from pydantic import ValidationError

from proctor.roomscan.config import RoomScanConfig


def test_defaults_follow_the_issue() -> None:
    config = RoomScanConfig()
    assert config.min_coverage_deg == 330.0 and config.retries == 1


@pytest.mark.parametrize(
    "data",
    [
        {"min_coverage": 300},
        {"min_coverage_deg": 400},
        {"retries": -1},
        {"hfov_bounds_deg": [90, 50]},
        {"hfov_guess_deg": 120, "hfov_bounds_deg": [40, 100]},
    ],
)
def test_bad_values_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RoomScanConfig.model_validate(data)


def test_every_field_is_described() -> None:
    for name, info in RoomScanConfig.model_fields.items():
        assert info.description and info.title, name


def test_public_surface_is_complete() -> None:
    import proctor.roomscan as roomscan

    names = {n for n, v in vars(roomscan).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert names == set(roomscan.__all__)
