"""`python -m web.seed --photo PHOTO`: seed the demo college with a demo exam and candidate, and say how to try it.

Idempotent: a second run finds the demo exam and candidate and only prints the instructions again.
Uses the same `PROCTOR_*` settings as the server (the bootstrap key names the demo college).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import warnings
from pathlib import Path

from sqlalchemy import select

from footprint.accounts import bootstrap
from footprint.people import Role, UserRow, add_person
from proctor.nativelog import silence_native_stderr
from proctor.sessions.errors import InvalidInputError
from proctor.sessions.tables import CandidateRow, ExamRow
from web import logs
from web.commands import command
from web.footprint_demo import seed_footprint
from web.platform import build_session_service
from web.private import private_umask
from web.services import build_services
from web.settings import SettingsError, load_settings

DEMO_EXAM = "Demo: final attestation, Electrical installation"
DEMO_CANDIDATE = "DEMO-0001"

HOW_TO = """
Demo college ready on {url}
  exam      {exam}
  candidate {candidate}

Try the college API: paste these lines into a terminal while the server runs (they work in a new one).
  cd "$(mktemp -d)"
  KEY={key}   # the demo college's key (PROCTOR_BOOTSTRAP_API_KEY): every scope, only while the server runs with it
  # keys with only what a system needs: {keys} issue "Demo College" lms --scopes xapi
  BASE={url}
  # 0. sit the exam yourself: a session's link opens the candidate's page (camera and microphone; your face
  #    is not the demo candidate's, so the identity check ends "unverified" and the exam goes on)
  curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
        -d '{{"candidate_id": "{candidate}"}}' "$BASE/api/v1/exams/{exam}/sessions" \\
        | python3 -c 'import json,sys; print("open in your browser:", json.load(sys.stdin)["join_url"])'
  # 1. a session for the demo candidate, then the recording of the exam
  S=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
        -d '{{"candidate_id": "{candidate}"}}' "$BASE/api/v1/exams/{exam}/sessions" \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'); echo "session $S"
  curl -sf -H "Authorization: Bearer $KEY" -F file=@{video} "$BASE/api/v1/sessions/$S/recording" >/dev/null
  # 2. wait for the analysis (share done, seconds left), then the score and the events
  until curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/sessions/$S" | python3 -c \\
    'import json,sys; s=json.load(sys.stdin); print(s["analysis"], s["analysis_progress"], s["analysis_eta_s"]); \\
     sys.exit(s["analysis"] not in ("done", "failed"))'; do sleep 2; done
  curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/sessions/$S" | python3 -m json.tool
  curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/sessions/$S/events" | python3 -m json.tool
  # 3. play back the kept recording, then give the examiner's verdict
  curl -sf -H "Authorization: Bearer $KEY" -o recording.ts "$BASE/api/v1/sessions/$S/recording" && ls -l recording.ts
  curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
    -d '{{"verdict": "confirmed", "examiner": "examiner@demo.kz", "note": "reviewed"}}' \\
    "$BASE/api/v1/sessions/$S/verdict" | python3 -m json.tool
  # 4. prove the verdict: its xAPI statement, a signed checkpoint, the proof; verified offline with the public key
  ID=$(curl -sf -u "demo:$KEY" -H 'X-Experience-API-Version: 1.0.3' \\
        "$BASE/xapi/statements?registration=$S&verb=http://adlnet.gov/expapi/verbs/completed" \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["statements"][0]["id"])')
  curl -sf -u "demo:$KEY" -H 'X-Experience-API-Version: 1.0.3' "$BASE/xapi/statements?statementId=$ID" > statement.json
  curl -sf "$BASE/ledger/checkpoint" > checkpoint.note && curl -sf "$BASE/ledger/public-key" > ledger.pub
  N=$(sed -n 2p checkpoint.note)   # the tree size the checkpoint signs
  curl -sf -u "demo:$KEY" "$BASE/ledger/proof/inclusion?statementId=$ID&treeSize=$N" > proof.json
  {footprint} verify inclusion --statement statement.json --proof proof.json \\
    --checkpoint checkpoint.note --public-key ledger.pub
API docs: {url}/docs  (Authorize with the key)
Examiner desk: {url}/desk/login  (e-mail {desk_email}, password: the demo college's key above; then open the
  exam, review the session with the keyboard, give a verdict, export the protocol PDF)
"""
DESK_EMAIL = "admin@demo.kz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, required=True, help="reference photo of the demo candidate")
    parser.add_argument("--video", type=Path, default=Path("demo.mp4"), help="recording to suggest uploading")
    args = parser.parse_args(argv)
    silence_native_stderr()  # the models' native start-up notices say nothing to someone trying the demo
    warnings.filterwarnings("ignore", module="google.protobuf")
    logs.configure_plain(logging.WARNING)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not settings.bootstrap_api_key:
        sys.stderr.write("error: set PROCTOR_BOOTSTRAP_API_KEY: the demo college is the one holding that key\n")
        return 2
    private_umask()
    services = build_services(settings)
    try:
        with services.writing() as db:  # the server settles it again at its start (web/app.py settle_bootstrap)
            credential = bootstrap(db, settings.bootstrap_api_key)
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
        with services.writing() as db:
            known = select(UserRow.id).where(UserRow.college_id == credential.college_id, UserRow.email == DESK_EMAIL)
            if db.scalar(known) is None:
                # the demo's desk account signs in with the demo key (a demo college has no secrets of its own): it
                # is enabled only while the server runs with that key
                key = settings.bootstrap_api_key
                add_person(db, credential.college_id, DESK_EMAIL, "Demo Admin", Role.ADMIN, key, demo=True)
        footprint = Path(sys.executable).with_name("footprint")
        sys.stdout.write(
            HOW_TO.format(
                url=settings.base_url,
                exam=exam.id,
                candidate=candidate.id,
                video=shlex.quote(str(args.video.resolve())),
                key=shlex.quote(settings.bootstrap_api_key),
                footprint=shlex.quote(str(footprint)),
                desk_email=DESK_EMAIL,
                keys=command("keys"),
            )
        )
        sys.stdout.write(seed_footprint(services, credential, settings.bootstrap_api_key))
        return 0
    finally:
        services.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
