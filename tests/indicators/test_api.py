"""The footprint API over HTTP, on SQLite and PostgreSQL: catalogue imports (JSON, CSV, bad input refused with
nothing written), reports naming their checkpoint, `treeSize`, bounded periods, CSV tables, two colleges, and
evidence that `footprint verify report` checks offline (exit 0 verified, 1 not proven, 2 bad input)."""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint import reports
from footprint.accounts import ALL_SCOPES, issue_key_for
from footprint.catalogue.schema import catalogue_schema
from footprint.cli import cli
from footprint.ledger.tables import CheckpointRow
from footprint.store import make_engine, make_session_factory
from tests.indicators.helpers import ASSIGN, COURSE, ROOM, SITE, TEACHER, W, at, base_catalogue, klass, user
from web.app import create_app
from web.settings import Settings

KEY = "footprint-api-key-0123456789"
XAPI = {"X-Experience-API-Version": "1.0.3"}
API = "/api/v1/footprint"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING"
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as test_client:
        yield test_client


def other_key(settings: Settings) -> dict[str, str]:
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as db:
            issued = issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True)
            return {"Authorization": f"Bearer {issued.secret}"}
    finally:
        engine.dispose()


def semester() -> dict[str, Any]:
    data = base_catalogue(learners=2)
    data["classes"] = [klass("C1", at(7, 9)), klass("C2", at(14, 9))]
    data["assignments"] = [
        {
            "id": "A1",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=80",
            "due": at(10, 23).isoformat(),
        }
    ]
    return data


def post(client: TestClient, statements: list[dict[str, Any]], headers: dict[str, str] | None = None) -> None:
    response = client.post("/xapi/statements", json=statements, headers={**XAPI, **(headers or {})})
    assert response.status_code == 200, response.text


def test_catalogue_json_then_csv_tables_become_versions_with_a_schema(client: TestClient) -> None:
    schema = client.get(f"{API}/catalogue/schema")
    assert schema.status_code == 200 and schema.json() == catalogue_schema()
    assert client.get(f"{API}/catalogue").status_code == 404
    first = client.put(f"{API}/catalogue", json=semester())
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["counts"]["classes"] == 2
    again = client.put(f"{API}/catalogue", json=semester())
    assert again.status_code == 200 and again.json()["version"] == 1  # nothing new: no new version
    classes = (
        "id;group;teacher;discipline;start;end;mode;activity\n"
        f"K1;G1;T1;EM1;2026-09-21 09:00;2026-09-21 10:30;synchronous;{W}/mod/bigbluebuttonbn/view.php?id=70\n"
    )
    response = client.put(f"{API}/catalogue/classes", content=classes.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 201 and response.json()["version"] == 2
    learners = f"id,name,group,accounts,aliases\nS1,Learner One,G1,{W}|101 mailto:one@example.kz,One in BBB;Уан\n"
    response = client.put(
        f"{API}/catalogue/learners", content=learners.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == 201 and response.json()["counts"]["learners"] == 1
    current = client.get(f"{API}/catalogue").json()
    assert (
        current["version"] == 3 and current["catalogue"]["classes"][0]["start"] == "2026-09-21T09:00:00+05:00"
    )  # Almaty time
    assert current["catalogue"]["learners"][0]["accounts"] == [
        {"homePage": W, "name": "101", "mbox": None},
        {"homePage": None, "name": None, "mbox": "mailto:one@example.kz"},
    ]
    assert current["catalogue"]["learners"][0]["aliases"] == ["One in BBB", "Уан"]
    assert [v["version"] for v in client.get(f"{API}/catalogue/versions").json()["items"]] == [3, 2, 1]
    assert client.get(f"{API}/catalogue", params={"version": 1}).json()["counts"]["classes"] == 2


BAD_INPUT: list[tuple[str, bytes | str, str, int, str]] = [
    ("", b'{"programmes": [', "application/json", 400, "is not valid JSON"),
    ("", b"[]", "application/json", 422, "the catalogue must be a JSON object"),
    ("", "END", "application/json", 422, "classes[0]: class C1 ends before it starts"),
    ("", "GROUP", "application/json", 422, "class C1: no group 'G9'"),
    ("", "FIELD", "application/json", 422, "programmes[0].field: Input should be"),
    ("", "ZONE", "application/json", 422, "timezone 'Asia' is not an IANA time zone"),
    ("", "YEAR", "application/json", 422, "classes[0] (C1).start: 0001-01-01T00:00:00+05:00 is outside the years"),
    ("/classes", b"id,group,teacher,room\n", "text/csv", 422, "unknown column(s) room; columns are id, group"),
    (
        "/classes",
        b"id,group,teacher,discipline,start,end,mode\nC9,G1,T1,EM1,soon,later,synchronous\n",
        "text/csv",
        422,
        "classes.csv line 2 (start): 'soon' is not a date",
    ),
    (
        "/classes",
        b"id,group,teacher,discipline,start,end,mode\nC9,G1,T1,EM1,2026-09-07T09:00,2026-09-07T10:00,online\n",
        "text/csv",
        422,
        "classes.csv line 2 (mode): Input should be",
    ),
    ("/learners", "Ученик".encode("cp1251"), "text/csv", 400, "not UTF-8"),
    ("/timetables", b"[]", "application/json", 404, "no table 'timetables'"),
]


def test_bad_catalogue_input_is_refused_clearly_and_nothing_is_written(client: TestClient) -> None:
    assert client.put(f"{API}/catalogue", json=semester()).status_code == 201
    size = int(client.get("/ledger/checkpoint").text.split("\n")[1])
    for path, given, content_type, status, message in BAD_INPUT:
        body = given if isinstance(given, bytes) else b""
        if given in ("END", "GROUP", "FIELD", "ZONE", "YEAR"):
            data = copy.deepcopy(semester())
            if given == "END":
                data["classes"][0]["end"] = data["classes"][0]["start"]
            elif given == "GROUP":
                data["classes"][0]["group"] = "G9"
            elif given == "ZONE":
                data["timezone"] = "Asia"  # a folder of the time zone database, not a zone
            elif given == "YEAR":
                data["classes"][0]["start"] = "0001-01-01T00:00:00+05:00"
            else:
                data["programmes"][0]["field"] = "astrology"
            body = json.dumps(data).encode()
        response = client.put(f"{API}/catalogue{path}", content=body, headers={"Content-Type": content_type})
        assert response.status_code == status, response.text
        assert message in response.json()["error"]["message"]
    assert [v["version"] for v in client.get(f"{API}/catalogue/versions").json()["items"]] == [1]
    assert int(client.get("/ledger/checkpoint").text.split("\n")[1]) == size  # nothing reached the ledger either


def test_reports_name_their_checkpoint_answer_as_of_an_older_one_and_keep_colleges_apart(
    client: TestClient, settings: Settings
) -> None:
    assert client.put(f"{API}/catalogue", json=semester()).status_code == 201
    post(
        client,
        [
            SITE.meeting("join", user(1), COURSE, ROOM, at(7, 9, 1)),
            SITE.meeting("join", TEACHER, COURSE, ROOM, at(7, 8, 55)),
        ],
    )
    client.get("/ledger/checkpoint")  # the server signs one every interval; this signs one now
    older = client.get(f"{API}/learners").json()
    post(
        client,
        [
            SITE.meeting("join", user(1), COURSE, ROOM, at(14, 9, 2)),
            SITE.submitted(user(1), COURSE, ASSIGN, at(10, 20)),
        ],
    )
    client.get("/ledger/checkpoint")
    since, until = at(7, 0).isoformat(), at(21, 0).isoformat()
    newer = client.get(f"{API}/learners", params={"since": since, "until": until}).json()
    assert newer["checkpoint"]["treeSize"] > older["checkpoint"]["treeSize"]
    assert newer["checkpoint"]["note"].startswith("proctor.kz/footprint\n") and newer["indicatorVersion"] == "2"
    assert newer["catalogue"]["version"] == 1 and newer["period"] == {
        "since": "2026-09-06T19:00:00Z",
        "until": "2026-09-20T19:00:00Z",
        "source": "asked",
    }
    rows = {row["learner"]: row for row in newer["items"]}
    assert rows["S1"]["attendance_rate"] == 1.0 and rows["S1"]["on_time"] == 1 and rows["S2"]["attendance_rate"] == 0.0
    as_of = client.get(
        f"{API}/learners/S1", params={"treeSize": older["checkpoint"]["treeSize"], "since": since, "until": until}
    ).json()
    assert as_of["attendance"]["counts"] == {"present": 1, "late": 0, "left_early": 0, "absent": 1}
    assert (
        as_of["assignment_counts"]["missing"] == 1
        and as_of["checkpoint"]["treeSize"] == older["checkpoint"]["treeSize"]
    )
    assert client.get(f"{API}/learners/S1", params={"treeSize": 2}).status_code == 404  # no checkpoint of that size
    assert client.get(f"{API}/learners/S1", params={"since": until, "until": since}).status_code == 400
    table = client.get(f"{API}/learners", params={"format": "csv", "since": since, "until": until})
    assert table.headers["content-type"].startswith("text/csv")
    lines = [line for line in table.text.splitlines() if not line.startswith("#")]
    assert lines[0].startswith("learner,name,group,attendance_rate") and lines[1].startswith("S1,Learner 1,G1,1.0")
    assert f"# checkpoint.treeSize: {newer['checkpoint']['treeSize']}" in table.text
    assert (
        client.get(f"{API}/groups/G1", params={"since": since, "until": until}).json()["summary"]["attendance"][
            "present"
        ]
        == 2
    )
    assert client.get(f"{API}/teachers/T1", params={"since": since, "until": until}).json()["held"] == 1
    assert client.get(f"{API}/programmes/EM").json()["groups"] == ["G1"]
    compliance = client.get(f"{API}/compliance/groups/G1", params={"format": "csv"})
    assert compliance.status_code == 200 and "tvet.distance_share" in compliance.text
    assert client.get(f"{API}/compliance").json()["items"][0]["id"] == "EM"
    assert client.get(f"{API}/weather-days/2026-09-09").json()["totals"]["classes"] == 0
    other = other_key(settings)
    assert client.get(f"{API}/learners/S1", headers=other).status_code == 404  # no catalogue there
    assert client.put(f"{API}/catalogue", json=semester(), headers=other).status_code == 201
    post(client, [SITE.logged_in(user(1), at(8, 9))], headers=other)
    client.get("/ledger/checkpoint")
    theirs = client.get(f"{API}/learners/S1", headers=other, params={"since": since, "until": until}).json()
    assert theirs["logins"]["logins"] == 1 and theirs["attendance"]["counts"]["absent"] == 2  # none of ours
    mine = client.get(f"{API}/learners/S1", params={"since": since, "until": until}).json()
    assert mine["logins"]["logins"] == 0
    assert (
        client.get(f"{API}/groups/G9").status_code == 404
        and client.get(f"{API}/compliance/programmes/XX").status_code == 404
    )
    assert client.get(f"{API}/learners", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_evidence_bundles_verify_offline_and_tampering_is_caught(client: TestClient, tmp_path: Path) -> None:
    data = semester()
    data["classes"][0]["mode"] = "synchronous"
    assert client.put(f"{API}/catalogue", json=data).status_code == 201
    post(
        client,
        [
            SITE.meeting("join", user(1), COURSE, ROOM, at(7, 9, 1)),
            SITE.logged_in(user(1), at(8, 9)),
            SITE.meeting("join", TEACHER, COURSE, ROOM, at(7, 8, 55)),
        ],
    )
    client.get("/ledger/checkpoint")
    key = tmp_path / "ledger.pub"
    key.write_text(client.get("/ledger/public-key").text)
    runner = CliRunner()

    def verify(bundle: dict[str, Any], name: str) -> tuple[int, str]:
        path = tmp_path / name
        path.write_text(json.dumps(bundle))
        result = runner.invoke(cli, ["verify", "report", "--bundle", str(path), "--public-key", str(key)])
        return result.exit_code, result.output

    bundle = client.get(f"{API}/evidence/learners/S1").json()
    assert len(bundle["statements"]) == 2
    code, output = verify(bundle, "learner.json")
    assert code == 0 and output.startswith("OK: indicators learner S1 at tree size") and "2 statements proven" in output
    group = client.get(f"{API}/evidence/compliance/groups/G1").json()
    code, output = verify(group, "group.json")
    assert code == 0 and "compliance group G1" in output and len(group["statements"]) == 1  # the teacher's join
    changed = copy.deepcopy(bundle)
    changed["report"]["logins"]["logins"] = 2
    code, output = verify(changed, "figure.json")
    assert code == 1 and "report.logins.logins: the bundle says 2, recomputed 1" in output
    forged = copy.deepcopy(bundle)
    forged["statements"][0]["statement"]["timestamp"] = at(8, 9, 30).isoformat()
    code, output = verify(forged, "statement.json")
    assert code == 1 and "is not in the log at this checkpoint" in output
    renamed = copy.deepcopy(bundle)
    renamed["catalogue"]["document"]["learners"][0]["name"] = "Someone else"
    assert verify(renamed, "catalogue.json")[0] == 1
    assert verify({"format": "something else"}, "garbage.json")[0] == 2
    code, output = verify(
        {**bundle, "basis": {**bundle["basis"], "checkpoint": {**bundle["basis"]["checkpoint"], "note": "not a note"}}},
        "note.json",
    )
    assert code == 2
    assert client.get(f"{API}/evidence/learners/S9").status_code == 404


def test_periods_are_bounded_and_refused_clearly(client: TestClient) -> None:
    assert client.put(f"{API}/catalogue", json=semester()).status_code == 201
    client.get("/ledger/checkpoint")
    refused = {
        ("0001-01-01T00:00:00Z", "2026-09-21T00:00:00Z"): "since must lie in the years 2000–2100",
        ("2026-09-01T00:00:00Z", "9999-12-31T23:00:00Z"): "until must lie in the years 2000–2100",
        ("2019-09-01T00:00:00Z", "2026-09-21T00:00:00Z"): "a period covers at most 2196 days (six years); this one",
    }
    for (since, until), message in refused.items():
        for path in ("/learners", "/learners/S1", "/groups/G1", "/compliance", "/evidence/learners/S1"):
            response = client.get(f"{API}{path}", params={"since": since, "until": until})
            assert response.status_code == 400, (path, response.text)
            assert message in response.json()["error"]["message"]
    assert client.get(f"{API}/weather-days/0001-01-01").status_code == 400
    six_years = client.get(
        f"{API}/groups/G1", params={"since": "2020-09-22T00:00:00Z", "until": "2026-09-21T00:00:00Z"}
    )
    assert six_years.status_code == 200 and len(six_years.json()["summary"]["weeks"]) == 313


def test_a_teachers_classes_as_csv_even_without_a_synchronous_class(client: TestClient) -> None:
    data = semester()
    data["teachers"].append({"id": "T2", "name": "Teacher Two", "accounts": [{"homePage": W, "name": "10"}]})
    assert client.put(f"{API}/catalogue", json=data).status_code == 201
    post(client, [SITE.meeting("join", TEACHER, COURSE, ROOM, at(7, 8, 55))])
    client.get("/ledger/checkpoint")
    period = {"since": at(7, 0).isoformat(), "until": at(21, 0).isoformat(), "format": "csv"}
    held = client.get(f"{API}/teachers/T1", params=period)
    assert held.status_code == 200 and held.headers["content-type"].startswith("text/csv")
    lines = [line for line in held.text.splitlines() if not line.startswith("#")]
    assert lines == [
        "class_id,group,discipline,start,held,on_time,first_join",
        "C1,G1,EM1,2026-09-07T04:00:00Z,true,true,2026-09-07T03:55:00Z",
        "C2,G1,EM1,2026-09-14T04:00:00Z,false,false,",
    ]
    none = client.get(f"{API}/teachers/T2", params=period)
    assert none.status_code == 200
    assert [line for line in none.text.splitlines() if not line.startswith("#")] == [
        "class_id,group,discipline,start,held,on_time,first_join"
    ]


def test_the_weather_day_as_csv_has_a_row_per_absentee_and_task(client: TestClient) -> None:
    data = semester()
    data["classes"] += [
        klass("M1", at(9, 9), mode="in_person", assignments=["A1"]),
        klass("M2", at(9, 11), mode="in_person", activity=None),  # no virtual class named for this one
    ]
    data["episodes"] = [
        {
            "id": "W",
            "ground": "weather",
            "group": "G1",
            "start": at(9, 0).isoformat(),
            "end": at(9, 23, 59).isoformat(),
            "approver": "Director",
            "documents": [{"kind": "head_order", "number": "112-Ө", "date": "2026-09-09"}],
        }
    ]
    assert client.put(f"{API}/catalogue", json=data).status_code == 201
    post(
        client,
        [
            SITE.meeting("join", user(1), COURSE, ROOM, at(9, 9, 2)),
            SITE.meeting("leave", user(1), COURSE, ROOM, at(9, 10, 30)),
            SITE.submitted(user(2), COURSE, ASSIGN, at(10, 18)),  # absent, hands the class's task in the next day
        ],
    )
    client.get("/ledger/checkpoint")
    table = client.get(f"{API}/weather-days/2026-09-09", params={"format": "csv"})
    assert table.status_code == 200 and "# checkpoint.treeSize:" in table.text
    rows = list(csv.DictReader(line for line in table.text.splitlines() if not line.startswith("#")))
    found = [
        (r["class_id"], r["connected"], r["learner"], r["connection"], r["assignment"], r["submitted"]) for r in rows
    ]
    assert found == [
        ("M1", "1", "S2", "absent", "A1", "2026-09-10T13:00:00Z"),
        ("M2", "0", "S1", "unknown", "", ""),
        ("M2", "0", "S2", "unknown", "", ""),
    ]
    assert rows[0]["room"] == f"{W}/mod/bigbluebuttonbn/view.php?id=70" and rows[1]["room"] == ""


def test_a_read_signs_nothing_and_another_colleges_statements_do_not_recompute_ours(
    client: TestClient, settings: Settings
) -> None:
    assert client.put(f"{API}/catalogue", json=semester()).status_code == 201
    post(client, [SITE.logged_in(user(1), at(8, 9))])
    first = int(client.get("/ledger/checkpoint").text.split("\n")[1])
    post(client, [SITE.logged_in(user(1), at(9, 9))])  # stored, not yet in a signed checkpoint
    period = {"since": at(7, 0).isoformat(), "until": at(21, 0).isoformat()}
    engine = make_engine(settings.db_url)
    try:
        signed = [int(size) for size in _checkpoints(engine)]
        now = client.get(f"{API}/learners/S1", params=period).json()
        assert (now["checkpoint"]["treeSize"], now["logins"]["logins"]) == (first, 1)  # the newest stored one
        assert client.get(f"{API}/groups/G1", params=period).json()["checkpoint"]["treeSize"] == first
        assert _checkpoints(engine) == signed  # reading wrote no checkpoint
        second = int(client.get("/ledger/checkpoint").text.split("\n")[1])
        made = reports.CACHE.computations
        assert client.get(f"{API}/groups/G1", params=period).json()["summary"]["learners"] == 2
        assert reports.CACHE.computations == made + 1  # our second login: computed again
        other = other_key(settings)
        assert client.put(f"{API}/catalogue", json=semester(), headers=other).status_code == 201
        post(client, [SITE.logged_in(user(1), at(10, 9)), SITE.logged_in(user(2), at(10, 9))], headers=other)
        third = int(client.get("/ledger/checkpoint").text.split("\n")[1])
        assert third > second
        group = client.get(f"{API}/groups/G1", params=period).json()
        assert reports.CACHE.computations == made + 1  # another college's statements: nothing recomputed
        assert group["checkpoint"]["treeSize"] == third  # and the report names the checkpoint it answers at
        theirs = client.get(f"{API}/groups/G1", params=period, headers=other).json()
        assert theirs["checkpoint"]["treeSize"] == third and reports.CACHE.computations == made + 2
    finally:
        engine.dispose()


def _checkpoints(engine: Any) -> list[int]:
    with engine.connect() as connection:
        return [
            int(size) for size in connection.scalars(select(CheckpointRow.tree_size).order_by(CheckpointRow.tree_size))
        ]


def test_without_since_a_report_covers_the_term_from_its_first_morning(client: TestClient) -> None:
    data = semester()  # the group's first class: 7 September, 09:00
    assert client.put(f"{API}/catalogue", json=data).status_code == 201
    post(client, [SITE.logged_in(user(1), at(7, 7))])  # 07:00 on the term's first day, before that class
    client.get("/ledger/checkpoint")
    until = {"until": at(21, 0).isoformat()}
    before = client.get(f"{API}/learners/S1", params=until).json()
    assert before["logins"]["logins"] == 0  # no term in the catalogue: from the first class, and it says so
    assert before["period"] == {
        "since": "2026-09-07T04:00:00Z",
        "until": "2026-09-20T19:00:00Z",
        "source": "first class",
    }
    data["terms"] = [{"id": "2026-autumn", "name": "Autumn 2026", "starts": "2026-09-07", "ends": "2026-12-26"}]
    assert client.put(f"{API}/catalogue", json=data).status_code == 201
    client.get("/ledger/checkpoint")
    learner = client.get(f"{API}/learners/S1", params=until).json()
    assert learner["logins"]["logins"] == 1
    term = {"since": "2026-09-06T19:00:00Z", "until": "2026-09-20T19:00:00Z", "source": "term"}  # Almaty midnight
    assert learner["period"] == term
    assert client.get(f"{API}/groups/G1", params=until).json()["period"] == term
    asked = client.get(f"{API}/learners/S1", params={**until, "since": at(7, 8).isoformat()}).json()
    assert asked["period"]["source"] == "asked" and asked["logins"]["logins"] == 0
    table = client.get(f"{API}/groups", params={**until, "format": "csv"}).text
    assert "# period.source: term\n" in table  # the CSV's lines above the header name it too
