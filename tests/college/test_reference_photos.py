"""Reference photos in bulk (`POST /api/v1/exams/{id}/photos`) with real face photos: a zip named by the candidates'
external ids or mapped by its photos.csv, each photo checked like a single enrolment; a hostile or broken archive
changes nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.ledger.tables import EntryRow
from proctor.sessions.service import SessionService
from proctor.sessions.tables import CandidateRow, ExamRow
from tests.college.test_college_api import auth, other_college_key
from web.app import create_app
from web.routes.college import photos
from web.settings import load_settings

KEY = "bootstrap-key-for-the-demo-college"
AIGERIM, BOLAT, DANA = "870412300123", "910101400456", "020304500789"


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def service_of(client: TestClient) -> SessionService:
    service: SessionService = client.app_state["platform"].service
    return service


def exam_without_photos(client: TestClient, *external_ids: str) -> tuple[str, dict[str, str]]:
    """An exam whose candidates came without a reference photo (as from the LMS): exam id, external id → candidate."""
    exam = client.post("/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final"}, headers=auth())
    assert exam.status_code == 201, exam.text
    service = service_of(client)
    with service.sessions() as db:
        found = db.get(ExamRow, exam.json()["id"])
        assert found is not None
        college = found.college_id
    made = {
        external_id: service.add_candidate_without_photo(college, found.id, external_id, f"Candidate {external_id}").id
        for external_id in external_ids
    }
    return found.id, made


def candidates(client: TestClient, exam_id: str) -> dict[str, CandidateRow]:
    with service_of(client).sessions() as db:
        rows = db.scalars(select(CandidateRow).where(CandidateRow.exam_id == exam_id))
        return {row.external_id: row for row in rows}


def ledger(client: TestClient, kind: str = "reference_photo") -> list[dict[str, Any]]:
    with service_of(client).sessions() as db:
        rows = db.scalars(select(EntryRow).where(EntryRow.kind == kind).order_by(EntryRow.index))
        return [json.loads(bytes(row.payload)) for row in rows]


def archive(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as made:
        for name, data in entries:
            made.writestr(name, data)
    return buffer.getvalue()


def claiming(data: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size in its local and central headers replaced by `size` (a lie)."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, at_size, at_name in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = patched.find(signature)
        while at >= 0 and patched[at + at_name : at + at_name + len(encoded)] != encoded:
            at = patched.find(signature, at + 4)
        assert at >= 0
        patched[at + at_size : at + at_size + 4] = size.to_bytes(4, "little")
    return bytes(patched)


def send(client: TestClient, exam_id: str, data: bytes, key: str = KEY) -> httpx.Response:
    return client.post(
        f"/api/v1/exams/{exam_id}/photos",
        files={"archive": ("photos.zip", data, "application/zip")},
        headers=auth(key),
    )


def refusals(report: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    return {item["name"]: (item["external_id"], item["reason"]) for item in report["refused"]}


def test_photos_named_by_external_id_become_the_reference_photos(client: TestClient, media: Path) -> None:
    exam_id, made = exam_without_photos(client, AIGERIM, BOLAT)
    face = (media / "obama.jpg").read_bytes()
    answer = send(
        client,
        exam_id,
        archive(
            (f"group-3/{AIGERIM}.jpg", face),
            (f"{BOLAT}.JPEG", (media / "free-mountain-vector-01.jpg").read_bytes()),
            ("999999999999.png", (media / "biden.jpg").read_bytes()),
            ("list.txt", b"who is who"),
            (f"__MACOSX/group-3/._{AIGERIM}.jpg", b"\0\5\26\7"),
            ("group-3/", b""),
        ),
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["accepted"] == [
        {"name": f"group-3/{AIGERIM}.jpg", "external_id": AIGERIM, "candidate_id": made[AIGERIM]}
    ]
    refused = refusals(report)
    assert report["total"] == 4 and set(refused) == {f"{BOLAT}.JPEG", "999999999999.png", "list.txt"}
    assert refused[f"{BOLAT}.JPEG"][0] == BOLAT and "no face" in refused[f"{BOLAT}.JPEG"][1]
    assert refused["999999999999.png"] == ("999999999999", "no candidate with this external id in this exam")
    assert refused["list.txt"][0] is None and "not a picture" in refused["list.txt"][1]

    rows = candidates(client, exam_id)
    assert rows[AIGERIM].embedding is not None and rows[AIGERIM].photo_key is not None
    assert (rows[BOLAT].embedding, rows[BOLAT].photo_key) == (None, None)
    assert ledger(client) == [
        {"candidate": made[AIGERIM], "exam": exam_id, "sha256": hashlib.sha256(face).hexdigest(), "replaced": False}
    ]
    # identity from now on is checked against the new photo: a session's live ticket and analysis carry it
    session = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": made[AIGERIM]}, headers=auth())
    assert session.status_code == 201, session.text
    token = session.json()["join_url"].rsplit("/", 1)[-1]
    ticket = service_of(client).live.ticket(token)
    assert ticket.embedding == rows[AIGERIM].embedding and ticket.photo == face

    again = send(client, exam_id, archive((f"{AIGERIM}.jpg", (media / "obama2.jpg").read_bytes())))
    assert again.status_code == 200 and [a["external_id"] for a in again.json()["accepted"]] == [AIGERIM]
    replaced = candidates(client, exam_id)[AIGERIM]
    assert replaced.embedding not in (None, rows[AIGERIM].embedding) and ledger(client)[-1]["replaced"] is True


def test_photos_csv_decides_whose_photo_is_which(client: TestClient, media: Path) -> None:
    exam_id, made = exam_without_photos(client, AIGERIM, BOLAT, DANA)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerows(
        [
            ["external_id", "path"],
            [AIGERIM, "scans/0001.jpg"],
            [DANA, "scans/0404.jpg"],
            ["", "scans/0002.jpg"],
            [],
        ]
    )
    answer = send(
        client,
        exam_id,
        archive(
            ("export/photos.csv", table.getvalue().encode()),
            ("scans/0001.jpg", (media / "obama.jpg").read_bytes()),
            ("scans/0002.jpg", (media / "biden.jpg").read_bytes()),
            (f"{BOLAT}.jpg", (media / "biden.jpg").read_bytes()),  # a name alone no longer decides
        ),
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["accepted"] == [{"name": "scans/0001.jpg", "external_id": AIGERIM, "candidate_id": made[AIGERIM]}]
    refused = refusals(report)
    assert refused["scans/0404.jpg"] == (DANA, "photos.csv line 3: the archive has no entry 'scans/0404.jpg'")
    assert refused["photos.csv line 4"] == (None, "photos.csv line 4: a row needs an external_id and a path")
    assert refused[f"{BOLAT}.jpg"] == (None, "not listed in photos.csv")
    assert report["total"] == 4  # scans/0002.jpg is refused by its row
    rows = candidates(client, exam_id)
    assert rows[AIGERIM].embedding is not None and rows[BOLAT].embedding is None and rows[DANA].embedding is None

    twice = send(
        client,
        exam_id,
        archive((f"a/{BOLAT}.jpg", (media / "biden.jpg").read_bytes()), (f"b/{BOLAT}.png", b"\x89PNG")),
    )
    assert twice.status_code == 200 and twice.json()["accepted"] == []
    assert {reason for _, reason in refusals(twice.json()).values()} == {
        "duplicate entry: more than one photo names this external id"
    }
    assert candidates(client, exam_id)[BOLAT].embedding is None


def test_an_entry_is_checked_against_its_size_in_the_header_and_while_read(client: TestClient, media: Path) -> None:
    exam_id, _ = exam_without_photos(client, AIGERIM, BOLAT, DANA)
    face = (media / "obama.jpg").read_bytes()
    bomb = b"\0" * (photos.PHOTO_LIMIT + 1)  # deflates to a few kilobytes
    honest = archive((f"{AIGERIM}.jpg", face), (f"{BOLAT}.jpg", bomb))
    lying = claiming(claiming(honest, f"{AIGERIM}.jpg", 1000), f"{BOLAT}.jpg", 1000)
    answer = send(client, exam_id, lying)
    assert answer.status_code == 200, answer.text
    refused = refusals(answer.json())
    assert answer.json()["accepted"] == [] and set(refused) == {f"{AIGERIM}.jpg", f"{BOLAT}.jpg"}
    assert all(reason.startswith("an unreadable zip entry") for _, reason in refused.values())

    answer = send(client, exam_id, archive((f"{BOLAT}.jpg", bomb)))  # the header tells the truth: not even read
    assert refusals(answer.json()) == {f"{BOLAT}.jpg": (BOLAT, "larger than 10 MB uncompressed")}
    answer = send(client, exam_id, claiming(archive((f"{DANA}.jpg", face)), f"{DANA}.jpg", photos.PHOTO_LIMIT + 1))
    assert refusals(answer.json()) == {f"{DANA}.jpg": (DANA, "larger than 10 MB uncompressed")}
    assert all(row.embedding is None for row in candidates(client, exam_id).values()) and ledger(client) == []


def test_an_archive_that_cannot_be_read_is_422_and_changes_nothing(
    client: TestClient, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exam_id, _ = exam_without_photos(client, AIGERIM)
    face = (media / "obama.jpg").read_bytes()
    good = archive((f"{AIGERIM}.jpg", face))
    many = archive(*[(f"{n:04d}.jpg", b"") for n in range(photos.MAX_ENTRIES)], (f"{AIGERIM}.jpg", face))
    bad_table = archive(("photos.csv", b"id;file\n1;a.jpg\n"), (f"{AIGERIM}.jpg", face))
    two_tables = archive(("photos.csv", b"external_id,path\n"), ("x/photos.csv", b"external_id,path\n"))
    for data, message in (
        (face, "not a zip file"),
        (b"PK\x03\x04" + b"\0" * 40, "not a zip file"),
        (good[: len(good) // 2], "not a zip file"),
        (good[:-6] + (1 << 30).to_bytes(4, "little") + good[-2:], "not a readable zip file"),  # directory nowhere
        (many, "more than 2000 entries"),
        (bad_table, "photos.csv needs the header row external_id,path"),
        (archive(("photos.csv", b"\xff\xfe bad")), "photos.csv is not UTF-8 text"),
        (two_tables, "more than one photos.csv"),
    ):
        answer = send(client, exam_id, data)
        assert answer.status_code == 422, (message, answer.text)
        assert message in answer.json()["error"]["message"]
    assert candidates(client, exam_id)[AIGERIM].embedding is None and ledger(client) == []
    monkeypatch.setattr(photos, "ARCHIVE_LIMIT", 1000)  # refused by its Content-Length, before it is read
    too_large = send(client, exam_id, good)
    assert too_large.status_code == 413, too_large.text
    missing = client.post(f"/api/v1/exams/{exam_id}/photos", files={"photo": ("a.zip", b"x")}, headers=auth())
    assert missing.status_code == 400 and "archive" in missing.json()["error"]["message"]
    assert candidates(client, exam_id)[AIGERIM].embedding is None and ledger(client) == []


def test_another_colleges_exam_is_not_found_and_the_key_needs_the_sessions_scope(
    client: TestClient, media: Path, db_url: str
) -> None:
    exam_id, _ = exam_without_photos(client, AIGERIM)
    good = archive((f"{AIGERIM}.jpg", (media / "obama.jpg").read_bytes()))
    other = send(client, exam_id, good, key=other_college_key(db_url))
    unknown = send(client, "no-such-exam", good)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["message"] == unknown.json()["error"]["message"].replace("no-such-exam", exam_id)
    made = client.post("/api/v1/keys", json={"name": "moodle", "scopes": ["xapi"]}, headers=auth())
    assert made.status_code == 201, made.text
    refused = send(client, exam_id, good, key=made.json()["secret"])
    assert refused.status_code == 403 and "`sessions`" in refused.json()["error"]["message"]
    assert candidates(client, exam_id)[AIGERIM].embedding is None and ledger(client) == []


def test_the_report_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    route = document["paths"]["/api/v1/exams/{exam_id}/photos"]["post"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PhotoReport")
    assert "archive" in route["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"accepted", "refused", "total"} <= set(document["components"]["schemas"]["PhotoReport"]["properties"])
