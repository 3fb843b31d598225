"""Settings: defaults, unknown or invalid PROCTOR_* variables fail at start with one clear message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import web.__main__ as main_module
from footprint.accounts import Scope, authenticate
from web.services import build_services
from web.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.db_url.startswith("sqlite:///") and settings.db_url.endswith("data/proctor.db")
    assert settings.key_file == Path("data/ledger.key")
    assert settings.base_url == "http://127.0.0.1:8000"


def test_environment_values() -> None:
    settings = load_settings({"PROCTOR_PORT": "9001", "PROCTOR_DATABASE_URL": "sqlite:///x.db", "HOME": "/root"})
    assert settings.port == 9001 and settings.db_url == "sqlite:///x.db"


def test_ice_servers_for_a_college_behind_nat() -> None:
    value = '[{"urls": ["turn:turn.college.kz:3478?transport=udp"], "username": "proctor", "credential": "s3"}]'
    settings = load_settings({"PROCTOR_ICE_SERVERS": value})
    assert settings.ice_server_list == [
        {"urls": ["turn:turn.college.kz:3478?transport=udp"], "username": "proctor", "credential": "s3"}
    ]
    assert load_settings({}).ice_server_list == []


def test_outbound_allow_networks_for_a_college_intranet() -> None:
    settings = load_settings({"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "10.20.0.0/16, fd00:20::/64"})
    assert [str(n) for n in settings.outbound_networks] == ["10.20.0.0/16", "fd00:20::/64"]
    assert load_settings({}).outbound_networks == ()
    with pytest.raises(
        SettingsError, match=r"PROCTOR_OUTBOUND_ALLOW_NETWORKS: .*'10\.20\.0\.1/16' is not an IP network"
    ):
        load_settings({"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "10.20.0.1/16"})
    with pytest.raises(SettingsError, match="'lms.college.kz' is not an IP network in CIDR form"):
        load_settings({"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "lms.college.kz"})


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match="PROCTOR_PORTT"):
        load_settings({"PROCTOR_PORTT": "1"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROCTOR_PORT", "70000"),
        ("PROCTOR_PORT", "x"),
        ("PROCTOR_BOOTSTRAP_API_KEY", "short"),
        ("PROCTOR_LOG_LEVEL", "LOUD"),
        ("PROCTOR_LIVE_WORKERS", "0"),
        ("PROCTOR_ICE_SERVERS", "turn:turn.college.kz"),
        ("PROCTOR_ICE_SERVERS", '{"urls": "turn:turn.college.kz"}'),
        ("PROCTOR_ICE_SERVERS", '[{"url": "turn:turn.college.kz"}]'),
        ("PROCTOR_ICE_SERVERS", '[{"urls": "turn:x", "password": "p"}]'),
    ],
)
def test_invalid_value_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_main_exits_2_on_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCTOR_NO_SUCH_THING", "1")
    assert main_module.main([]) == 2


@pytest.fixture
def kept_umask() -> Iterator[None]:
    """The test process's umask back after a command that sets its own."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_issue_key_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], kept_umask: None
) -> None:
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    assert main_module.main(["issue-key", "Almaty College", "moodle", "--new-college"]) == 0
    assert os.umask(0o077) == 0o077  # what the commands and the server create is their owner's only
    secret = capsys.readouterr().out.strip()
    settings = load_settings()
    services = build_services(settings)
    try:
        with services.sessions() as session:
            credential = authenticate(session, secret)
    finally:
        services.engine.dispose()
    assert credential is not None and credential.college_name == "Almaty College" and credential.name == "moodle"
    assert credential.scopes == {Scope.XAPI}  # what an LMS needs, and nothing more
