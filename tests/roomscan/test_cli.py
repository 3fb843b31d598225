"""`proctor scan`: scan.json and evidence for a whole-scan recording; exit code 2 on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from proctor.roomscan.cli import scan
from tests.roomscan.render import ScanVideo


def test_scan_writes_report_and_evidence(scan_video: Callable[[str], ScanVideo], tmp_path: Path) -> None:
    video = scan_video("face")
    out = tmp_path / "result"
    result = CliRunner().invoke(scan, [str(video.path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "incomplete" in result.output and "persons in the room: 1" in result.output
    report = json.loads((out / "scan.json").read_text(encoding="utf-8"))
    assert abs(report["coverage_deg"] - video.true_coverage_deg) <= 15.0
    assert report["largest_gap_deg"] > 100.0 and report["complete"] is False
    assert {"coverage_deg", "largest_gap_deg", "duration_s", "quality", "persons", "events"} <= set(report)
    person = report["persons"][0]
    assert (out / person["evidence"]).stat().st_size > 1000
    types = [event["type"] for event in report["events"]]
    assert types[:2] == ["room_scan_requested", "room_scan_incomplete"] and "person_in_room" in types
    assert [p.name for p in tmp_path.iterdir()] == ["result"]  # no staging folder left behind


def test_lower_minimum_makes_the_same_scan_complete(scan_video: Callable[[str], ScanVideo], tmp_path: Path) -> None:
    out = tmp_path / "result"
    args = [str(scan_video("half").path), "--out", str(out), "--quiet", "--min-coverage", "150"]
    result = CliRunner().invoke(scan, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "scan.json").read_text(encoding="utf-8"))["complete"] is True


def test_unreadable_recording_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bogus = tmp_path / "scan.mp4"
    bogus.write_bytes(b"not a video")
    result = CliRunner().invoke(scan, [str(bogus), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_bad_minimum_and_foreign_folder_exit_2(scan_video: Callable[[str], ScanVideo], tmp_path: Path) -> None:
    video = str(scan_video("half").path)
    bad = CliRunner().invoke(scan, [video, "--out", str(tmp_path / "a"), "--min-coverage", "400"])
    assert bad.exit_code == 2 and "min-coverage" in bad.output
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", encoding="utf-8")
    clash = CliRunner().invoke(scan, [video, "--out", str(foreign), "--quiet"])
    assert clash.exit_code == 2 and (foreign / "keep.txt").read_text(encoding="utf-8") == "mine"
