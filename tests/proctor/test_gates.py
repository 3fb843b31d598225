"""The gates (proctor/gates.py) against ungated analysis of the test recordings: each gate alone and all
together give the same events, their times within 0.2 s, while the costly models run less."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.analyze import AnalysisResult, analyze_recording
from proctor.gates import GatesConfig
from proctor.policy import PRESETS, Policy
from tests.fixtures.scenarios import Scenario, build_seat_change, build_two_people

pytestmark = pytest.mark.slow

WITHIN_S = 0.2
Recording = tuple[Path, Path | None, Policy]
"""A recording, its reference photo (None: no identity checks) and the policy it is analysed with."""
INTERIM = PRESETS["interim"]
UNGATED = GatesConfig(near_faces=False, calm_head=False, still_body=False)
GATINGS = {
    "near faces": UNGATED.model_copy(update={"near_faces": True}),
    "calm head": UNGATED.model_copy(update={"calm_head": True}),
    "still body": UNGATED.model_copy(update={"still_body": True}),
    "all": GatesConfig(),
}


def with_gates(policy: Policy, gates: GatesConfig) -> Policy:
    return policy.model_copy(update={"gates": gates})


def strict_head(policy: Policy) -> Policy:
    """A 10° yaw limit: the WolfgangLanger speaker's turns (up to ~20°) become looking_away events."""
    return policy.model_copy(update={"head_pose": policy.head_pose.model_copy(update={"yaw_limit_deg": 10.0})})


@pytest.fixture(scope="module")
def recordings(demo: Scenario, media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """name → (recording, reference photo or None, policy)."""
    folder = tmp_path_factory.mktemp("gates")
    two = build_two_people(folder / "two")
    seat = build_seat_change(folder / "seat")
    return {
        "demo exam": (demo.video, demo.reference, INTERIM),
        "two people": (two.video, two.reference, INTERIM),
        "seat change": (seat.video, seat.reference, INTERIM),
        "head turns, strict limit": (media / "WolfgangLanger_Pexels.mp4", None, strict_head(INTERIM)),
        "head turns, final policy": (media / "WolfgangLanger_Pexels.mp4", None, PRESETS["final"]),
    }


def analysed(recording: Recording, gates: GatesConfig) -> AnalysisResult:
    path, reference, policy = recording
    return analyze_recording(path, reference, with_gates(policy, gates))


def assert_same_events(gated: AnalysisResult, ungated: AnalysisResult, what: str) -> None:
    got = [(e.type.value, e.start_s, e.end_s) for e in gated.events]
    want = [(e.type.value, e.start_s, e.end_s) for e in ungated.events]
    assert [kind for kind, _, _ in got] == [kind for kind, _, _ in want], (what, got, want)
    for (kind, start, end), (_, start0, end0) in zip(got, want, strict=True):
        assert abs(start - start0) <= WITHIN_S and abs(end - end0) <= WITHIN_S, (
            what,
            kind,
            (start, end),
            (start0, end0),
        )


@pytest.mark.parametrize(
    "name", ["demo exam", "two people", "seat change", "head turns, strict limit", "head turns, final policy"]
)
def test_each_gate_gives_the_events_of_ungated_analysis(recordings: dict[str, Recording], name: str) -> None:
    recording = recordings[name]
    ungated = analysed(recording, UNGATED)
    rested: list[int] = []
    assert ungated.stages.near_face_detection == 0
    for gating, gates in GATINGS.items():
        gated = analysed(recording, gates)
        assert_same_events(gated, ungated, f"{name}, {gating}")
        assert gated.stages.frames == ungated.stages.frames
        if gates.near_faces:  # the short-range model counted some frames instead of the full-range one
            assert gated.stages.face_detection < ungated.stages.face_detection
        if gates.calm_head:  # FaceMesh rested on some frames (not on a head always near the strict limit)
            assert gated.stages.head_pose <= ungated.stages.head_pose
            assert gated.stages.head_pose < ungated.stages.head_pose or name == "head turns, strict limit"
        if gates.still_body:
            assert gated.stages.pose <= ungated.stages.pose
            rested.append(ungated.stages.pose - gated.stages.pose)
    if name.startswith("head turns, strict"):
        assert any(e.type.value == "looking_away" for e in ungated.events)  # the head gate had turns to see
    if name == "two people":  # the candidate sits still between the visits: Pose rested
        assert all(rested), rested
