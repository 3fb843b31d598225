"""`proctor scan RECORDING --out DIR`: analyse a recording that is all room scan.

Writes DIR/scan.json (coverage, largest gap, duration, speed, quality flags, persons, events) and
DIR/evidence/*.jpg. Bad input exits with code 2 and one message; the folder is written whole or not
at all (built in a temporary sibling, then renamed into place).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import click
import cv2
from pydantic import ValidationError
from tqdm import tqdm

from proctor.errors import InputError
from proctor.events.event import Event
from proctor.policy import Policy, load_policy
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanReport
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.events import scan_events

logger = logging.getLogger(__name__)

EVIDENCE_JPEG_QUALITY = 85
REPORT_NAME = "scan.json"


def room_scan_config(policy_spec: str, min_coverage_deg: float | None) -> tuple[RoomScanConfig, Policy]:
    """The room-scan section of a policy (preset or file), with the command-line override applied."""
    policy = load_policy(policy_spec)
    config = policy.room_scan
    if min_coverage_deg is not None:
        try:
            config = RoomScanConfig.model_validate({**config.model_dump(), "min_coverage_deg": min_coverage_deg})
        except ValidationError as exc:
            raise InputError(f"--min-coverage: {exc.errors()[0]['msg']}") from exc
    return config, policy


def analyze_scan_recording(recording: Path, config: RoomScanConfig, policy: Policy, quiet: bool = True) -> ScanReport:
    """Decode `recording` at the scan rate and analyse it as one scan (RecordingError if unreadable)."""
    from proctor.decode import iter_frames, probe

    info = probe(recording)
    with (
        RoomScanAnalyzer(config, faces_config=policy.faces, body_config=policy.body) as analyzer,
        tqdm(
            total=round(info.duration_s, 1),
            unit="s",
            desc="room scan",
            disable=quiet,
            bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]",
        ) as bar,
    ):
        for frame in iter_frames(recording, config.analysis_rate_hz):
            analyzer.feed(frame)
            bar.update(max(0.0, round(frame.timestamp_s, 1) - bar.n))
        return analyzer.finish()


def write_scan(report: ScanReport, events: list[Event], recording: Path, out_dir: Path) -> None:
    """Write scan.json and evidence/*.jpg atomically: all of it, or nothing."""
    out_dir = out_dir.resolve()
    check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        staging.chmod(0o755)
        (staging / "evidence").mkdir()
        records = []
        for number, event in enumerate(events, start=1):
            record = event.to_json()
            if event.evidence_image is not None:
                name = f"evidence/{number:04d}_{event.type.value}.jpg"
                ok, jpeg = cv2.imencode(".jpg", event.evidence_image, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
                if ok:
                    (staging / name).write_bytes(jpeg.tobytes())
                    record["evidence"] = name
            records.append(record)
        document = {"recording": recording.name, **report.to_json(), "events": records}
        persons = [r for r in records if r["type"] == "person_in_room"]
        for person, record in zip(document["persons"], persons, strict=False):
            person["evidence"] = record["evidence"]
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        (staging / REPORT_NAME).write_text(text, encoding="utf-8")
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder that holds something other than an earlier scan result (never overwrite it)."""
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / REPORT_NAME).exists())):
        raise InputError(f"{out_dir} exists and is not an earlier room-scan result; choose another --out")


def _replace_dir(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


@click.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for the results.")
@click.option(
    "--policy", "policy_spec", default="interim", show_default=True, help="Preset (interim, final) or policy JSON."
)
@click.option("--min-coverage", type=float, help="Override the policy's minimum coverage (degrees, 0–360).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def scan(recording: Path, out_dir: Path, policy_spec: str, min_coverage: float | None, quiet: bool) -> None:
    """Analyse RECORDING as a 360° room scan: writes scan.json and evidence/*.jpg to --out."""
    try:
        config, policy = room_scan_config(policy_spec, min_coverage)
        check_out_dir(out_dir.resolve())
        report = analyze_scan_recording(recording, config, policy, quiet=quiet)
        if report.frames == 0:
            raise InputError(f"{recording}: no video frame to analyse")
        write_scan(report, scan_events(report, config), recording, out_dir)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(2) from exc
    click.echo(_summary(report, out_dir))


def _summary(report: ScanReport, out_dir: Path) -> str:
    verdict = "complete" if report.complete else ("timed out" if report.timed_out else "incomplete")
    lines = [
        f"room scan {verdict}: {report.coverage_deg:.0f}° of {report.min_coverage_deg:.0f}° required, "
        f"largest gap {report.largest_gap_deg:.0f}°, {report.duration_s:.1f} s, "
        f"{report.quality.mean_speed_deg_s:.0f}°/s",
        f"  quality flags: {', '.join(report.quality.flags) or 'none'}",
        f"  persons in the room: {len(report.persons)}",
        f"results in {out_dir}/ ({REPORT_NAME}, evidence/)",
    ]
    return "\n".join(lines)
