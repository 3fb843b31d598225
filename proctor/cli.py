"""The `proctor` command: analyse recordings, re-score, check the model files.

Bad input exits with code 2 and one clear message; nothing is half-written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from footprint import jsonlimits
from proctor.errors import InputError, ProctorError
from proctor.nativelog import silence_native_stderr

logger = logging.getLogger("proctor")


class ProctorCommand(click.Group):
    """Turns domain errors into exit code 2 with a one-line message."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except ProctorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=ProctorCommand)
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
def cli(verbose: bool) -> None:
    """Online proctoring analysis: recorded exams become scored, explainable events."""
    # mediapipe's native notices and protobuf's deprecation notices are noise for a command-line user.
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", module="google.protobuf")
    if not verbose:
        silence_native_stderr()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Enrolled photo of the candidate. Without it identity is not checked: someone else taking the "
    "exam raises no identity_mismatch.",
)
@click.option(
    "--policy",
    "policy_spec",
    default="interim",
    show_default=True,
    help="Preset (interim, final) or a policy JSON file.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for the results.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--scan",
    "scans",
    multiple=True,
    metavar="START_S:END_S",
    help="A window of the recording that is a 360° room scan (repeatable).",
)
def analyze(
    recording: Path, reference: Path | None, policy_spec: str, out_dir: Path, quiet: bool, scans: tuple[str, ...]
) -> None:
    """Analyse RECORDING: writes events.jsonl, report.json and evidence/*.jpg to --out."""
    from proctor.analyze import prepare_analysis, write_results
    from proctor.policy import load_policy
    from proctor.roomscan import parse_scan_window

    policy = load_policy(policy_spec)
    windows = [parse_scan_window(spec) for spec in scans]
    prepared = prepare_analysis(recording, reference, policy, windows)  # every input error comes before the bar
    if reference is None:
        click.echo("note: no --reference photo, so identity is not checked", err=True)
    info = prepared.info
    with tqdm(
        total=round(info.duration_s, 1),
        unit="s",
        desc="analysing",
        disable=quiet,
        bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]",
    ) as bar:

        def progress(t: float) -> None:
            bar.update(max(0.0, round(t, 1) - bar.n))

        result = prepared.run(progress)
    write_results(result, out_dir)
    click.echo(_summary(result.report_json(), out_dir))


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option(
    "--weights",
    "weights_file",
    type=click.Path(path_type=Path),
    help='JSON weights ({"per_type": {...}, "face_absent_body_present": x}).',
)
def score(out_dir: Path, weights_file: Path | None) -> None:
    """Recompute the score of an analysis folder with new weights (no re-analysis)."""
    from pydantic import ValidationError

    from proctor.analyze import read_events
    from proctor.policy import Weights
    from proctor.score import compute_score

    report_path = out_dir / "report.json"
    try:
        report = jsonlimits.loads(report_path.read_bytes(), str(report_path))
        duration = float(report["analysed_duration_s"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{report_path}: not an analysis report ({exc})") from exc
    weights = Weights.model_validate(report.get("weights", {}))
    if weights_file is not None:
        try:
            weights = Weights.model_validate(jsonlimits.loads(weights_file.read_bytes(), str(weights_file)))
        except (OSError, ValueError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise InputError(f"{weights_file}: invalid weights ({message})") from exc
    result = compute_score(read_events(out_dir), duration, weights)
    click.echo(json.dumps(result.to_json(), indent=2))


@cli.group()
def models() -> None:
    """The model files the analysis uses."""


@models.command("verify")
def models_verify() -> None:
    """Check every registered model file against its sha256."""
    from models import verify

    failed = 0
    for check in verify():
        mark = "ok " if check.ok else "BAD"
        click.echo(f"{mark} {check.model.name:32} {check.model.distribution:34} {check.detail}")
        failed += not check.ok
    if failed:
        raise click.exceptions.Exit(1)


def _register_scan() -> None:
    from proctor.roomscan.cli import scan

    cli.add_command(scan)


_register_scan()


def _summary(report: dict[str, Any], out_dir: Path) -> str:
    """One line per event type: events, seconds, and the points it adds (technical events add none)."""
    score = report["score"]
    points = {item["type"]: item["points"] for item in score["contributions"]}
    lines = [f"score {score['total']:.1f} / 100 over {report['analysed_duration_s']} s (policy {report['policy']})"]
    totals = sorted(report["event_totals"].items(), key=lambda item: (-points.get(item[0], -1.0), item[0]))
    for name, entry in totals:
        added = f"+{points[name]:.1f}" if name in points else "technical, not scored"
        lines.append(f"  {name:20} {entry['events']:3} events {entry['seconds']:7.1f} s  {added}")
    lines.append(f"results in {out_dir}/ (events.jsonl, report.json, evidence/)")
    return "\n".join(lines)


def main() -> None:
    """Console entry point."""
    sys.exit(cli.main(standalone_mode=True))
