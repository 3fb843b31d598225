"""HTTPS on one machine (`PROCTOR_TLS_*`, `python -m web self-signed-cert`) and the files of deploy/ that run the
platform as a service (systemd unit, logrotate, nginx in front)."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.servers import ROOT, free_port, server, trusting
from web import tls
from web.settings import SettingsError, load_settings

DEPLOY = ROOT / "deploy"


def run_web(data_dir: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.update({"PROCTOR_DATA_DIR": str(data_dir), **environment})
    return subprocess.run(
        [sys.executable, "-m", "web", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def alt_names(cert_file: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*names.get_values_for_type(x509.DNSName), *map(str, names.get_values_for_type(x509.IPAddress))]


def test_the_self_signed_cert_command_names_the_hosts_keeps_its_key_private_and_overwrites_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    made = run_web(data, "self-signed-cert", "--host", "exam.college.kz", "--host", "10.1.2.3", "--days", "30")
    assert made.returncode == 0, made.stderr
    cert_file, key_file = data / "tls" / "cert.pem", data / "tls" / "key.pem"
    assert set(alt_names(cert_file)) == {"exam.college.kz", "10.1.2.3", "localhost", "127.0.0.1", "::1"}
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert 29 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 30
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # the lines to paste: absolute paths, and the server started with this very Python
    assert f"export PROCTOR_TLS_CERT_FILE={cert_file.resolve()}" in made.stdout
    assert f"export PROCTOR_TLS_KEY_FILE={key_file.resolve()}" in made.stdout
    assert f"{sys.executable} -m web" in made.stdout

    before = cert_file.read_bytes(), key_file.read_bytes()
    again = run_web(data, "self-signed-cert")
    assert again.returncode == 2 and "--force" in again.stderr and "already exist" in again.stderr
    assert (cert_file.read_bytes(), key_file.read_bytes()) == before

    # the settings naming the files may already be in the environment: the command still runs (and replaces them)
    forced = run_web(
        data,
        "self-signed-cert",
        "--force",
        PROCTOR_TLS_CERT_FILE=str(cert_file),
        PROCTOR_TLS_KEY_FILE=str(key_file),
    )
    assert forced.returncode == 0, forced.stderr
    assert key_file.read_bytes() != before[1] and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert set(alt_names(cert_file)) == {"localhost", "127.0.0.1", "::1"}


def test_host_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(tls.CertificateError, match="not a host name"):
        tls.write_self_signed(tmp_path, ["exam college"])
    assert tls.host_names(["[fd00::1]", "LOCALHOST", "*.college.kz"]) == (
        "fd00::1",
        "LOCALHOST",
        "*.college.kz",
        "127.0.0.1",
        "::1",
    )
    assert not (tmp_path / "cert.pem").exists()


@pytest.fixture
def cert(tmp_path: Path) -> tls.Written:
    return tls.write_self_signed(tmp_path / "data" / "tls", ["exam.college.kz"])


def test_tls_takes_both_files_or_neither(cert: tls.Written, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PROCTOR_TLS_CERT_FILE is set but PROCTOR_TLS_KEY_FILE is not"):
        load_settings({"PROCTOR_TLS_CERT_FILE": str(cert.cert_file)})
    with pytest.raises(SettingsError, match="PROCTOR_TLS_KEY_FILE is set but PROCTOR_TLS_CERT_FILE is not"):
        load_settings({"PROCTOR_TLS_KEY_FILE": str(cert.key_file)})
    missing = tmp_path / "none.pem"
    with pytest.raises(SettingsError, match=r"PROCTOR_TLS_CERT_FILE: .*none\.pem' is not a file"):
        load_settings({"PROCTOR_TLS_CERT_FILE": str(missing), "PROCTOR_TLS_KEY_FILE": str(cert.key_file)})
    with pytest.raises(SettingsError, match="PROCTOR_TLS_KEY_FILE: .* is not a file"):
        load_settings({"PROCTOR_TLS_CERT_FILE": str(cert.cert_file), "PROCTOR_TLS_KEY_FILE": str(tmp_path)})

    both = {"PROCTOR_TLS_CERT_FILE": str(cert.cert_file), "PROCTOR_TLS_KEY_FILE": str(cert.key_file)}
    settings = load_settings({**both, "PROCTOR_PORT": "8443"})
    assert settings.tls and settings.base_url == "https://127.0.0.1:8443"
    assert load_settings({**both, "PROCTOR_PUBLIC_URL": "https://exam.college.kz/"}).base_url == (
        "https://exam.college.kz"
    )
    assert load_settings({}).base_url == "http://127.0.0.1:8000" and not load_settings({}).tls


def test_python_m_web_serves_https_with_hsts_and_secure_cookies(cert: tls.Written, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "proctor.log"
    with server(
        tmp_path / "data",
        port,
        verify=cert.cert_file,
        PROCTOR_TLS_CERT_FILE=str(cert.cert_file),
        PROCTOR_TLS_KEY_FILE=str(cert.key_file),
        PROCTOR_LOG_FILE=str(log_file),
    ) as process:
        assert process.poll() is None
        with httpx.Client(verify=trusting(cert.cert_file), timeout=10) as client:
            health = client.get(f"https://127.0.0.1:{port}/healthz")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"].startswith("max-age=")
            login = client.get(f"https://localhost:{port}/desk/login")  # a name of the certificate too
            assert login.status_code == 200
            cookies = login.headers.get_list("set-cookie")
            assert cookies and all("; Secure" in cookie for cookie in cookies)
        with pytest.raises(httpx.ConnectError):  # not trusted by default: a self-signed certificate
            httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=10)
        with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port gets no answer
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    logged = log_file.read_text()
    assert f"platform on https://127.0.0.1:{port}" in logged
    assert f"curl --cacert {cert.cert_file.resolve()} " in logged  # the printed try-it trusts the certificate
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_a_log_file_that_cannot_be_written_stops_the_start(tmp_path: Path) -> None:
    failed = run_web(tmp_path / "data", PROCTOR_LOG_FILE=str(tmp_path / "no-such-folder" / "proctor.log"))
    assert failed.returncode == 2
    assert "PROCTOR_LOG_FILE: cannot write" in failed.stderr and "no-such-folder" in failed.stderr


HARDENING = {
    "User": "proctor",
    "WorkingDirectory": "/opt/proctor",
    "EnvironmentFile": "/etc/proctor/proctor.env",
    "ExecStart": "/opt/proctor/.venv/bin/python -m web",
    "Restart": "on-failure",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/proctor /var/log/proctor",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "no",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


def test_the_systemd_unit_runs_python_m_web_hardened() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string((DEPLOY / "proctor.service").read_text())
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert {key: service.get(key) for key in HARDENING} == HARDENING
    families = set(service["RestrictAddressFamilies"].split())
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= families <= {"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # the unit as installed here: its python is this checkout's (verify checks that ExecStart exists)
    text = (DEPLOY / "proctor.service").read_text().replace("/opt/proctor/.venv/bin/python", sys.executable)
    unit = tmp_path / "proctor.service"
    unit.write_text(text.replace("/opt/proctor", str(ROOT)))
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    complaints = [line for line in (verified.stdout + verified.stderr).splitlines() if "proctor.service" in line]
    assert verified.returncode == 0 and not complaints, verified.stdout + verified.stderr


def test_logrotate_rotates_the_log_folder_daily_for_30_days() -> None:
    text = (DEPLOY / "proctor.logrotate").read_text()
    body = text[text.index("/var/log/proctor/*.log {") :]
    directives = {line.strip() for line in body.splitlines()[1:] if line.strip() not in ("", "}")}
    assert {"daily", "rotate 30", "compress", "delaycompress", "missingok", "notifempty", "copytruncate"} <= directives


def test_the_nginx_example_proxies_the_node_and_its_websocket() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    assert text.count("proxy_pass http://127.0.0.1:8000;") == 2
    websocket = text[text.index("location /live/ws {") :]
    websocket = websocket[: websocket.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket and "Connection $connection_upgrade" in websocket
    assert "X-Forwarded-Proto $scheme" in websocket  # a location's own headers replace the server's
    for needed in ("listen 443 ssl;", "client_max_body_size 2g;", "X-Forwarded-Proto $scheme;", "TURN"):
        assert needed in text
    assert text.count("{") == text.count("}")
