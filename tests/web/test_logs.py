"""Structured logs: every line names the node and the session it is about; health checks stay out of the log;
the new settings of a multi-node deployment are checked at start."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proctor.logcontext import about_session
from tests.desk.desk_client import login_token
from web.logs import JsonFormatter, NodeAndSession, QuietHealthChecks, escape_controls, formatter
from web.settings import SettingsError, load_settings

FORGED = "a@b.kz\n1999-12-31 INFO node=node-1 session=- web: forged line"


def record(message: str, *args: object, name: str = "proctor.sessions.worker") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


def test_lines_name_the_node_and_the_session() -> None:
    node = NodeAndSession("node-2")
    with about_session("5bdf880e"):
        inside = record("analysing session %s", "5bdf880e")
        assert node.filter(inside)
    outside = record("checkpoint at tree size %d", 11)
    assert node.filter(outside)
    line = json.loads(JsonFormatter().format(inside))
    assert {k: line[k] for k in ("level", "node", "session", "logger", "message")} == {
        "level": "INFO",
        "node": "node-2",
        "session": "5bdf880e",
        "logger": "proctor.sessions.worker",
        "message": "analysing session 5bdf880e",
    }
    assert line["time"].endswith("+00:00")
    text = formatter("text").format(outside)
    assert " node=node-2 session=- proctor.sessions.worker: checkpoint at tree size 11" in text


def test_failures_keep_their_traceback_in_json() -> None:
    try:
        raise RuntimeError("the database went away")
    except RuntimeError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "could not claim a job", (), sys.exc_info())
    NodeAndSession("node-1").filter(failed)
    line = json.loads(JsonFormatter().format(failed))
    assert "RuntimeError: the database went away" in line["exception"] and line["session"] == "-"


def test_successful_health_checks_stay_out_of_the_access_log() -> None:
    quiet = QuietHealthChecks()
    access = '%s - "%s %s HTTP/%s" %d'
    assert not quiet.filter(record(access, "127.0.0.1:5", "GET", "/readyz", "1.1", 200, name="uvicorn.access"))
    assert not quiet.filter(record(access, "127.0.0.1:5", "GET", "/healthz", "1.1", 200, name="uvicorn.access"))
    assert not quiet.filter(record(access, "127.0.0.1:5", "GET", "/readyz/live", "1.1", 200, name="uvicorn.access"))
    assert quiet.filter(record(access, "127.0.0.1:5", "GET", "/readyz", "1.1", 503, name="uvicorn.access"))
    assert quiet.filter(record(access, "127.0.0.1:5", "GET", "/api/v1/exams", "1.1", 200, name="uvicorn.access"))


def test_settings_of_a_node_in_a_cluster() -> None:
    settings = load_settings({"PROCTOR_PORT": "9001"})
    assert settings.node.startswith("node-") and socket.gethostname() not in settings.node
    assert settings.node == load_settings({"PROCTOR_PORT": "9001"}).node != load_settings({"PROCTOR_PORT": "9002"}).node
    assert settings.media_path == Path("data/media") and not settings.expose_node
    assert settings.ray_address is None and settings.log_format == "text"
    clustered = load_settings(
        {
            "PROCTOR_NODE_ID": "node-2",
            "PROCTOR_MEDIA_DIR": "/srv/proctor-media",
            "PROCTOR_RAY_ADDRESS": "10.0.0.5:6379",
            "PROCTOR_RAY_GPUS_PER_JOB": "0.25",
            "PROCTOR_JOB_LEASE_S": "20",
            "PROCTOR_JOB_DEADLINE_FACTOR": "2",
            "PROCTOR_JOB_DEADLINE_MARGIN_S": "60",
            "PROCTOR_JOB_RETRY_S": "5",
            "PROCTOR_WORKER_START_S": "30",
            "PROCTOR_EXPOSE_NODE": "true",
            "PROCTOR_LOG_FORMAT": "json",
        }
    )
    assert (clustered.job_deadline_factor, clustered.job_deadline_margin_s) == (2.0, 60.0)
    assert (clustered.job_retry_s, clustered.worker_start_s, clustered.expose_node) == (5.0, 30.0, True)
    assert (clustered.node, clustered.media_path, clustered.ray_gpus_per_job) == (
        "node-2",
        Path("/srv/proctor-media"),
        0.25,
    )
    for bad in (
        {"PROCTOR_NODE_ID": "node 2"},
        {"PROCTOR_JOB_LEASE_S": "1"},
        {"PROCTOR_RAY_CPUS_PER_JOB": "0"},
        {"PROCTOR_LOG_FORMAT": "xml"},
        {"PROCTOR_JOB_DEADLINE_MARGIN_S": "1"},
        {"PROCTOR_WORKER_START_S": "0"},
    ):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            load_settings(bad)


def test_control_characters_are_escaped_and_a_traceback_keeps_its_lines() -> None:
    assert escape_controls("a\nb\r\tc\x00\x1b[31m\x7f\x85\u2028\u2029 ключ") == (
        "a\\nb\\r\\tc\\x00\\x1b[31m\\x7f\\x85\\u2028\\u2029 ключ"
    )
    try:
        raise RuntimeError("first\nsecond")
    except RuntimeError:
        failed = logging.LogRecord(
            "web", logging.ERROR, __file__, 1, "sign-in of %s\u2028failed", (FORGED,), sys.exc_info()
        )
    NodeAndSession("node-1").filter(failed)
    text = formatter("text").format(failed)
    head, *traceback = text.splitlines()
    assert head.endswith("web: sign-in of a@b.kz\\n1999-12-31 INFO node=node-1 session=- web: forged line\\u2028failed")
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-2:] == ["RuntimeError: first", "second"]
    line = formatter("json").format(failed)
    assert len(line.splitlines()) == 1 and "\u2028" not in line
    parsed = json.loads(line)
    assert (
        parsed["message"] == "sign-in of a@b.kz\\n1999-12-31 INFO node=node-1 session=- web: forged line\\u2028failed"
    )
    assert parsed["exception"].endswith("RuntimeError: first\nsecond")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the server's text log would show (the handler `logs.configure` installs, writing to a buffer)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(NodeAndSession("node-1"))
    handler.setFormatter(formatter("text"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_an_address_typed_at_the_desk_login_cannot_forge_a_log_line(client: TestClient, captured: io.StringIO) -> None:
    for _ in range(30):  # failures until the login refuses the address and logs it
        client.post("/desk/login", data={"email": FORGED, "password": "guess", "csrf_token": login_token(client)})
        if "a@b.kz" in captured.getvalue():
            break
    lines = captured.getvalue().splitlines()
    naming = [line for line in lines if "a@b.kz" in line]
    assert naming and all("a@b.kz\\n1999-12-31 info node=node-1 session=- web: forged line" in line for line in naming)
    assert not any(line.startswith("1999-12-31") for line in lines)
