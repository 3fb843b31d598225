"""The `proctor` command: results on disk, exit code 2 with one message on bad input, nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]


def proctor(*args: str | Path, network: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "proctor", *map(str, args)]
    if not network:
        command = ["unshare", "--net", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


@pytest.mark.slow
def test_analyze_writes_events_report_and_evidence_then_rescore(demo: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "result"
    run = proctor("analyze", demo.video, "--reference", demo.reference, "--out", out, "--quiet")
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    report = json.loads((out / "report.json").read_text())
    assert {"face_absent", "multiple_faces", "identity_mismatch", "speech_detected"} <= {e["type"] for e in events}
    for event in events:
        assert {"type", "start_s", "end_s", "severity", "confidence", "measurements", "evidence"} <= set(event)
        if event["evidence"]:
            assert (out / event["evidence"]).read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert report["score"]["total"] > 0
    assert report["models"]["mediapipe"] == "0.10.14"
    assert report["analysed_duration_s"] == pytest.approx(demo.duration_s, abs=0.5)
    assert "W0000" not in run.stderr and "TensorFlow Lite" not in run.stderr  # no native start-up noise
    summary = run.stdout.splitlines()
    for kind in {e["type"] for e in events}:
        assert sum(1 for line in summary if line.split() and line.split()[0] == kind) == 1, run.stdout
    contributions = {c["type"]: c["points"] for c in report["score"]["contributions"]}

    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"per_type": {"multiple_faces": 0.0}}))
    rescored = proctor("score", out, "--weights", weights)
    assert rescored.returncode == 0, rescored.stderr
    new = {c["type"]: c["points"] for c in json.loads(rescored.stdout)["contributions"]}
    assert new["multiple_faces"] == 0.0
    assert new["face_absent"] == contributions["face_absent"]


@pytest.mark.parametrize(
    "case", ["missing", "not_video", "audio_only", "truncated", "no_face_ref", "group_ref", "bad_policy"]
)
def test_bad_input_exits_2_with_one_message_and_writes_nothing(case: str, media: Path, tmp_path: Path) -> None:
    recording, reference, policy = media / "single_face.mp4", media / "obama.jpg", "interim"
    if case == "missing":
        recording = tmp_path / "nope.mp4"
    elif case == "not_video":
        recording = tmp_path / "notes.mp4"
        recording.write_text("these are my exam notes, not a video")
    elif case == "audio_only":
        recording = media / "arctic_a0007.wav"
    elif case == "truncated":
        recording = tmp_path / "truncated.mp4"
        recording.write_bytes((media / "single_face.mp4").read_bytes()[:4000])
    elif case == "no_face_ref":
        reference = media / "free-mountain-vector-01.jpg"
    elif case == "group_ref":
        reference = media / "multi_face.jpg"
    elif case == "bad_policy":
        policy = "midterm"
    out = tmp_path / "out"
    run = proctor("analyze", recording, "--reference", reference, "--policy", policy, "--out", out, "--quiet")
    assert run.returncode == 2, (run.stdout, run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rescoring_a_folder_that_is_not_an_analysis_exits_2(tmp_path: Path) -> None:
    run = proctor("score", tmp_path)
    assert run.returncode == 2
    assert "not an analysis report" in run.stderr


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare --net (root)")
def test_models_verify_and_pipeline_start_with_network_refused(media: Path, tmp_path: Path) -> None:
    verify = proctor("models", "verify", network=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("ok ") == 7
    out = tmp_path / "offline"
    run = proctor(
        "analyze",
        media / "single_face.mp4",
        "--reference",
        media / "single_face.jpg",
        "--out",
        out,
        "--quiet",
        network=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stages"]["pose"] >= 1 and report["stages"]["head_pose"] >= 1 and report["identity_checked"]


def test_scan_command_is_part_of_proctor_and_refuses_bad_input(tmp_path: Path) -> None:
    notes = tmp_path / "scan.mp4"
    notes.write_text("not a video")
    run = proctor("scan", notes, "--out", tmp_path / "out", "--quiet")
    assert run.returncode == 2, run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert not (tmp_path / "out").exists()
    bad_window = proctor("analyze", notes, "--out", tmp_path / "out", "--scan", "9:3")
    assert bad_window.returncode == 2 and "--scan" in bad_window.stderr
