"""Backup benchmark: `python -m web backup` of the 1 M-statement footprint database with 10 GB of media (target
≤ 10 minutes on the 2-core machine). Prints JSON.

    make bench-backup
    .venv/bin/python -m benchmarks.backup [--learners 500] [--media-gb 10] [--file-mb 25]

The database is the semester `benchmarks.footprint_indicators` builds (cached under .cache/bench/, built first when
missing: several minutes); the media is `--media-gb` of recording-sized files (`--file-mb` each, cached under
.cache/bench/backup-media-N/). The backup goes to a fresh folder beside them and is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.footprint_indicators import CACHE, KEY, build
from footprint.semester.plan import SemesterPlan
from proctor.nativelog import quiet_native_noise
from web import backup
from web.settings import Settings

MB = 1024 * 1024


def _media(folder: Path, gigabytes: float, file_mb: int) -> tuple[int, int]:
    """`gigabytes` of media files under `folder` (made once; a run that died leaves a folder to finish)."""
    files = int(gigabytes * 1024 // file_mb)
    block = os.urandom(MB)
    made = 0
    for number in range(files):
        path = folder / "college" / f"exam{number // 100:03d}" / f"session{number:05d}" / "chunk_00001.mp4"
        if path.is_file() and path.stat().st_size == file_mb * MB:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for index in range(file_mb):
                out.write(index.to_bytes(8, "big") + number.to_bytes(8, "big") + block[16:])
        made += 1
        if made % 40 == 0:
            sys.stderr.write(f"media: {number + 1}/{files} files written\n")
    return files, files * file_mb * MB


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")


def run(learners: int, media_gb: float, file_mb: int) -> dict[str, Any]:
    database = CACHE / f"footprint-indicators-v2-{learners}"  # the one benchmarks.footprint_indicators builds
    built: dict[str, Any] | None = None
    if not database.is_dir():
        sys.stderr.write(f"building the {learners}-learner semester into {database} (once; several minutes)\n")
        built = build(database, SemesterPlan(learners=learners))
    media = CACHE / f"backup-media-{media_gb:g}"
    files, media_bytes = _media(media, media_gb, file_mb)
    settings = Settings(data_dir=database, media_dir=media, bootstrap_api_key=KEY, log_level="WARNING")
    target = CACHE / "backup-run"
    shutil.rmtree(target, ignore_errors=True)
    began = time.perf_counter()
    cpu_began = time.process_time()
    try:
        summary = backup.backup(settings, target, _progress)
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    finally:
        shutil.rmtree(target, ignore_errors=True)
    database_bytes = sum(p.stat().st_size for p in database.glob("proctor.db*"))
    return {
        "benchmark": "backup while idle: database (SQLite online backup) + media + keys, sha256 manifest",
        "statements_database_bytes": database_bytes,
        "media_files": files,
        "media_bytes": media_bytes,
        "backup_files": summary.files,
        "backup_bytes": summary.bytes,
        "seconds": round(seconds, 1),
        "mb_per_s": round(summary.bytes / MB / seconds, 1),
        "cpu_s": round(cpu, 1),
        "target_s": 600,
        "built": built,
    }


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=500, help="semester size (500: about 1 M statements)")
    parser.add_argument("--media-gb", type=float, default=10.0, help="gigabytes of media (10)")
    parser.add_argument("--file-mb", type=int, default=25, help="size of one media file in MB (25)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.learners, args.media_gb, args.file_mb), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
