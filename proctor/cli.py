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

from proctor.errors import InputError, ProctorError

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
    # mediapipe's C++ logging and protobuf's deprecation notices are noise for a command-line user.
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", module="google.protobuf")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--reference", type=click.Path(path_type=Path), help="Enrolled photo of the candidate.")
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
    from proctor.analyze import analyze_recording, write_results
    from proctor.decode import probe
    from proctor.policy import load_policy
    from proctor.roomscan import parse_scan_window

    policy = load_policy(policy_spec)
    windows = [parse_scan_window(spec) for spec in scans]
    info = probe(recording)
    with tqdm(
        total=round(info.duration_s, 1),
        unit="s",
        desc="analysing",
        disable=quiet,
        bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]",
    ) as bar:

        def progress(t: float) -> None:
            bar.update(max(0.0, round(t, 1) - bar.n))

        result = analyze_recording(recording, reference, policy, progress=progress, scans=windows)
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
        report = json.loads(report_path.read_text(encoding="utf-8"))
        duration = float(report["analysed_duration_s"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{report_path}: not an analysis report ({exc})") from exc
    weights = Weights.model_validate(report.get("weights", {}))
    if weights_file is not None:
        try:
            weights = Weights.model_validate(json.loads(weights_file.read_text(encoding="utf-8")))
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
    score = report["score"]
    lines = [f"score {score['total']:.1f} / 100 over {report['analysed_duration_s']} s (policy {report['policy']})"]
    for item in score["contributions"]:
        lines.append(f"  {item['type']:20} {item['events']:3} events {item['seconds']:7.1f} s  +{item['points']:.1f}")
    totals = report["event_totals"]
    for name, entry in sorted(totals.items()):
        lines.append(f"  · {name}: {entry['events']} event(s), {entry['seconds']} s")
    lines.append(f"results in {out_dir}/ (events.jsonl, report.json, evidence/)")
    return "\n".join(lines)


def main() -> None:
    """Console entry point."""
    sys.exit(cli.main(standalone_mode=True))
