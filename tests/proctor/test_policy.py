"""Policies reject unknown keys and out-of-range values, and presets differ where they should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proctor.errors import InputError
from proctor.events.vocabulary import EventType
from proctor.policy import PRESETS, load_policy, policy_from_dict


def test_presets_match_the_two_attestation_kinds() -> None:
    interim, final = load_policy("interim"), load_policy("final")
    assert (interim.name, final.name) == ("interim", "final")
    assert final.head_pose.yaw_limit_deg < interim.head_pose.yaw_limit_deg
    assert final.identity.interval_s <= interim.identity.interval_s <= 10.0
    assert final.weights.weight(EventType.IDENTITY_MISMATCH) > interim.weights.weight(EventType.IDENTITY_MISMATCH)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"faces": {"bogus": 1}}, "faces.bogus"),
        ({"surprise": True}, "surprise"),
        ({"analysis_rate_hz": 500}, "analysis_rate_hz"),
        ({"identity": {"interval_s": 60}}, "identity.interval_s"),
        ({"weights": {"per_type": {"low_light": 2.0}}}, "never scored"),
        ({"base": "midterm"}, "unknown base preset"),
    ],
)
def test_invalid_policies_are_refused_with_the_field_named(document: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        policy_from_dict(document)


def test_policy_file_overrides_a_preset(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text(json.dumps({"base": "final", "name": "paper-final", "allowances": {"looking_down": True}}))
    policy = load_policy(str(path))
    assert policy.name == "paper-final"
    assert policy.allowances.looking_down
    assert policy.head_pose.yaw_limit_deg == PRESETS["final"].head_pose.yaw_limit_deg


def test_unreadable_policy_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_policy(str(tmp_path / "bad.json"))
    with pytest.raises(InputError, match="neither a preset"):
        load_policy(str(tmp_path / "missing.json"))
