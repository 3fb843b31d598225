"""`python -m web.seed --photo PHOTO`: seed the demo college with a demo exam and candidate, and say how to try it.

Idempotent: a second run finds the demo exam and candidate and only prints the instructions again.
Uses the same `PROCTOR_*` settings as the server (the bootstrap key names the demo college).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy import select

from footprint.accounts import authenticate
from proctor.sessions.errors import InvalidInputError
from proctor.sessions.tables import CandidateRow, ExamRow
from web.app import build_services
from web.platform import build_session_service
from web.settings import SettingsError, load_settings

DEMO_EXAM = "Demo: final attestation, Electrical installation"
DEMO_CANDIDATE = "DEMO-0001"

HOW_TO = """
Demo college ready on {url}  (key: $PROCTOR_BOOTSTRAP_API_KEY)
  exam      {exam}
  candidate {candidate}
Try the college API:
  export KEY=$PROCTOR_BOOTSTRAP_API_KEY
  S=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
        -d '{{"candidate_id": "{candidate}"}}' {url}/api/v1/exams/{exam}/sessions \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -H "Authorization: Bearer $KEY" -F file=@{video} {url}/api/v1/sessions/$S/recording
  curl -s -H "Authorization: Bearer $KEY" {url}/api/v1/sessions/$S          # status, score, contributions
  curl -s -H "Authorization: Bearer $KEY" {url}/api/v1/sessions/$S/events   # events with evidence URLs
API docs: {url}/docs
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, required=True, help="reference photo of the demo candidate")
    parser.add_argument("--video", type=Path, default=Path("demo.mp4"), help="recording to suggest uploading")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not settings.bootstrap_api_key:
        sys.stderr.write("error: set PROCTOR_BOOTSTRAP_API_KEY: the demo college is the one holding that key\n")
        return 2
    services = build_services(settings)
    try:
        with services.sessions() as db:
            credential = authenticate(db, settings.bootstrap_api_key)
        if credential is None:  # build_services bootstraps the key, so this cannot happen
            sys.stderr.write("error: the bootstrap key was not stored\n")
            return 1
        service = build_session_service(services)
        with services.sessions() as db:
            exam = db.scalars(
                select(ExamRow).where(ExamRow.college_id == credential.college_id, ExamRow.title == DEMO_EXAM)
            ).first()
            candidate = (
                db.scalars(
                    select(CandidateRow).where(
                        CandidateRow.exam_id == exam.id, CandidateRow.external_id == DEMO_CANDIDATE
                    )
                ).first()
                if exam
                else None
            )
        if exam is None:
            exam = service.create_exam(credential.college_id, DEMO_EXAM, "final", None)
        if candidate is None:
            try:
                photo = args.photo.read_bytes()
                candidate = service.add_candidate(credential.college_id, exam.id, DEMO_CANDIDATE, "Aigerim Demo", photo)
            except (OSError, InvalidInputError) as exc:
                sys.stderr.write(f"error: demo candidate photo {args.photo}: {exc}\n")
                return 2
        sys.stdout.write(
            HOW_TO.format(url=settings.base_url, exam=exam.id, candidate=candidate.id, video=args.video.resolve())
        )
        return 0
    finally:
        services.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
