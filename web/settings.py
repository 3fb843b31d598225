"""Server settings from the environment (prefix `PROCTOR_`), checked once at start.

Unknown `PROCTOR_*` variables are refused: a typo in a deployment should fail loudly, not fall
back to a default silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from proctor.outbound import IPNetwork, parse_networks

PREFIX = "PROCTOR_"


class SettingsError(ValueError):
    """The environment holds unknown or invalid `PROCTOR_*` settings."""


class Settings(BaseSettings):
    """Every setting of the web server; built once and passed through FastAPI dependencies."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(Path("./data"), title="Data folder", description="Folder for the SQLite DB and the key.")
    database_url: str | None = Field(
        None, title="Database URL", description="SQLAlchemy URL; default SQLite file `proctor.db` in the data folder."
    )
    host: str = Field("127.0.0.1", title="Host", description="Interface the server listens on.")
    port: int = Field(8000, ge=1, le=65535, title="Port", description="TCP port the server listens on.")
    public_url: str | None = Field(
        None, title="Public URL", description="Base URL clients see; default http(s)://HOST:PORT."
    )
    tls_cert_file: Path | None = Field(
        None,
        title="TLS certificate",
        description="PEM certificate (chain) file: with `tls_key_file`, the server itself speaks HTTPS and its "
        "default public URL is https://HOST:PORT (`python -m web self-signed-cert` makes one for a quick start).",
    )
    tls_key_file: Path | None = Field(
        None, title="TLS private key", description="PEM private key file of `tls_cert_file` (both or neither)."
    )
    bootstrap_api_key: str | None = Field(
        None,
        min_length=16,
        title="Bootstrap API key",
        description="On first start, a demo college is created holding this key (Bearer, or Basic password).",
    )
    signing_key_file: Path | None = Field(
        None, title="Ledger signing key", description="Ed25519 key file; default `ledger.key` in the data folder."
    )
    encrypt_media: bool = Field(
        True,
        title="Encrypt media at rest",
        description="Recordings, evidence and face pictures are stored encrypted with their college's data key "
        "(AES-256-GCM), wrapped by the master key. Off: new media is stored as it is (media stored encrypted stays "
        "readable while the master key is there).",
    )
    master_key_file: Path | None = Field(
        None,
        title="Master key",
        description="The key that wraps the colleges' data keys (made on first start when missing); default "
        "`master.key` beside the ledger's key. Keep it apart from the data and its backups (a path outside the data "
        "folder, or a systemd credential); with several nodes, at the same path on every node and Ray worker.",
    )
    ledger_origin: str = Field(
        "proctor.kz/footprint", min_length=1, title="Ledger origin", description="Origin line of signed checkpoints."
    )
    checkpoint_interval_s: float = Field(
        10.0, gt=0, le=86400, title="Checkpoint interval", description="Seconds between checkpoints."
    )
    max_upload_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, title="Upload limit", description="Largest request body accepted, in bytes."
    )
    query_limit: int = Field(
        100, ge=1, le=10000, title="Query page size", description="Most statements returned by one query page."
    )
    max_recording_bytes: int = Field(
        2 * 1024**3, ge=1024, title="Recording upload limit", description="Largest recording upload, in bytes."
    )
    chunk_seconds: float = Field(
        10.0, ge=1.0, le=600.0, title="Chunk length", description="Length of the kept recording chunks, in seconds."
    )
    recording_grace_s: float = Field(
        300.0,
        ge=10.0,
        le=86400.0,
        title="Recording grace time",
        description="Seconds after a live exam is finished during which its page may still send the last parts of "
        "its own recording (a slow network); the recording is sealed then, or sooner when the page says it sent all.",
    )
    recording_part_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        title="Recording part limit",
        description="Largest part of a live client's own recording, in bytes (the page sends about 150 KB every 2 s).",
    )
    recording_session_bytes: int = Field(
        2 * 1024**3,
        ge=1024 * 1024,
        title="Live recording limit",
        description="Most bytes of a live client's own recording one session keeps (camera and screen together).",
    )
    recording_runs: int = Field(
        50,
        ge=1,
        le=1000,
        title="Recording runs",
        description="Most recording runs of one live session (a page reload starts a new run).",
    )
    time_zone: str = Field(
        "Asia/Almaty",
        min_length=1,
        max_length=64,
        title="Time zone",
        description="The time zone of the times pages show candidates (when an exam opens); an IANA name.",
    )
    privacy_contact: str = Field(
        "",
        max_length=200,
        title="Privacy contact",
        description="Who candidates ask about their recordings (an e-mail or phone), shown with the proctoring "
        "terms; empty: the page tells them to ask their college's exam office.",
    )
    retention_days: int = Field(
        365, ge=1, le=36500, title="Retention", description="Days after which recordings and evidence are purged."
    )
    analysis_workers: int = Field(
        1, ge=1, le=64, title="Analysis processes", description="Worker processes that analyse recordings."
    )
    live_workers: int = Field(
        1,
        ge=1,
        le=64,
        title="Live analysis processes",
        description="Processes analysing live sessions; each holds the models once and serves several sessions.",
    )
    ice_servers: str = Field(
        "[]",
        title="ICE servers",
        description='STUN/TURN servers for WebRTC behind NAT, as JSON: [{"urls": "turn:turn.college.kz:3478", '
        '"username": "...", "credential": "..."}]. Empty on a local network.',
    )
    xapi_default_version: str = Field(
        "2.0.0",
        pattern=r"^(1\.0\.3|2\.0\.0)$",
        title="Default xAPI version",
        description="Version reported on responses to requests that name none (they are refused with 400).",
    )
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", title="Log level", description="Logging.")
    log_format: Literal["text", "json"] = Field(
        "text", title="Log format", description="text: one line per record; json: one JSON object per line."
    )
    log_file: Path | None = Field(
        None,
        title="Log file",
        description="A file the server's log lines are also written to (appended, same format), besides stderr; "
        "deploy/proctor.logrotate rotates /var/log/proctor/*.log.",
    )
    node_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        title="Node name",
        description="This platform node's name in logs, metrics and the job table; default `node-` and 10 hex digits "
        "made from HOSTNAME:PORT (which they do not reveal). Keep it the same across restarts: a restarted node "
        "takes back its own jobs at once.",
    )
    expose_node: bool = Field(
        False,
        title="Show the node's name",
        description="Name this node in an `X-Proctor-Node` header on every answer, in /healthz and /readyz and in "
        "the live welcome (tests, debugging). Off: the name stays in the logs, metrics and job table.",
    )
    media_dir: Path | None = Field(
        None,
        title="Media folder",
        description="Where recordings, evidence and pictures are kept; default `media/` in the data folder. With "
        "several nodes: a shared folder mounted at the same path on every node and Ray worker.",
    )
    ray_address: str | None = Field(
        None,
        min_length=1,
        title="Ray cluster",
        description="HOST:PORT of a Ray cluster's head (or `auto`): analysis jobs then run on its actors; unset, on "
        "local processes.",
    )
    ray_cpus_per_job: float = Field(
        1.0, gt=0, le=64, title="CPUs per job", description="CPUs each Ray analysis actor asks for."
    )
    ray_gpus_per_job: float = Field(
        0.0,
        ge=0,
        le=8,
        title="GPUs per job",
        description="GPUs (or a share of one) each Ray analysis actor asks for; set it where the Ray nodes have GPUs.",
    )
    job_lease_s: float = Field(
        30.0,
        ge=2,
        le=3600,
        title="Job lease",
        description="Seconds a node vouches for a running analysis job; another node re-queues it after that.",
    )
    job_deadline_factor: float = Field(
        3.0,
        ge=0,
        le=100,
        title="Job deadline per recorded second",
        description="A start of an analysis may run this many seconds per second of recording, plus the margin; "
        "then its worker is stopped and the job given back (it counts as a start).",
    )
    job_deadline_margin_s: float = Field(
        300.0,
        ge=10,
        le=86400,
        title="Job deadline margin",
        description="Seconds added to every analysis start's deadline.",
    )
    job_retry_s: float = Field(
        10.0,
        ge=0.5,
        le=3600,
        title="Job retry delay",
        description="Seconds a job given back after its worker was lost waits before it runs again, doubled for "
        "each earlier start.",
    )
    worker_start_s: float = Field(
        120.0,
        ge=5,
        le=3600,
        title="Worker start time",
        description="Seconds an analysis worker (a local process, or a Ray actor being placed) may take to start "
        "and load its models; a slot whose worker is not ready by then claims no job and tries again later.",
    )
    outbound_allow_networks: str = Field(
        "",
        max_length=2000,
        title="Outbound allowed networks",
        description="Comma-separated CIDRs (e.g. 10.20.0.0/16, fd00:20::/64) that webhooks and other outbound "
        "calls may reach although they are not public: a college's own LMS or webhook receiver on an internal "
        "network. Empty: outbound calls go to public addresses only.",
    )

    metrics_allow_networks: str = Field(
        "127.0.0.1/32,::1/128",
        title="Metrics networks",
        description="Comma-separated networks (CIDR) whose clients may read /metrics without a token; empty: none. "
        "Behind a proxy on the same machine, only one that sends X-Forwarded-For (else every client looks local).",
    )
    metrics_token: str | None = Field(
        None,
        min_length=16,
        pattern=r"^[!-~]+$",
        title="Metrics token",
        description="A scraper sending `Authorization: Bearer` and this token (16 or more visible ASCII characters) "
        "reads /metrics from anywhere.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what is given: the environment is read once, by `load_settings` (which refuses unknown names), so
        `load_settings(environ)` and `Settings(...)` depend on nothing else."""
        return (init_settings,)

    @model_validator(mode="after")
    def _no_default_url_clash(self) -> Settings:
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return self

    @model_validator(mode="after")
    def _tls_files_together(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            given, missing = ("CERT", "KEY") if self.tls_key_file is None else ("KEY", "CERT")
            raise ValueError(
                f"{PREFIX}TLS_{given}_FILE is set but {PREFIX}TLS_{missing}_FILE is not: HTTPS needs both the "
                "certificate and its private key (or neither, for plain HTTP)"
            )
        return self

    @field_validator("tls_cert_file", "tls_key_file")
    @classmethod
    def _tls_file_is_readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            if not value.is_file():
                raise ValueError(f"{str(value)!r} is not a file (no such file, or a folder)")
            if not os.access(value, os.R_OK):
                raise ValueError(f"{str(value)!r} is not readable by this user")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone_is_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a time zone this system knows (an IANA name: Asia/Almaty)") from exc
        return value

    @field_validator("ice_servers")
    @classmethod
    def _ice_servers_are_json(cls, value: str) -> str:
        parse_ice_servers(value)
        return value

    @field_validator("metrics_allow_networks")
    @classmethod
    def _metrics_networks_are_cidrs(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        """The networks that may read /metrics without a token."""
        return parse_networks(self.metrics_allow_networks)

    @property
    def ice_server_list(self) -> list[dict[str, Any]]:
        return parse_ice_servers(self.ice_servers)

    @field_validator("outbound_allow_networks")
    @classmethod
    def _outbound_networks_are_cidrs(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def outbound_networks(self) -> tuple[IPNetwork, ...]:
        """The networks outbound calls may reach although they are not public."""
        return parse_networks(self.outbound_allow_networks)

    @property
    def db_url(self) -> str:
        """The database URL actually used."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'proctor.db').resolve()}"

    @property
    def key_file(self) -> Path:
        """The ledger signing key file actually used."""
        return self.signing_key_file or self.data_dir / "ledger.key"

    @property
    def master_key_path(self) -> Path:
        """The master key file actually used."""
        return self.master_key_file or self.key_file.with_name("master.key")

    @property
    def gate_key_file(self) -> Path:
        """The key of the exams' LMS quiz passwords (`gate.key`, made on first use): beside the ledger's key, so the
        nodes of a cluster, which share that key's folder, share this key too."""
        return self.key_file.with_name("gate.key")

    @property
    def node(self) -> str:
        """This node's name actually used."""
        if self.node_id:
            return self.node_id
        made_from = f"{socket.gethostname()}:{self.port}".encode()
        return "node-" + hashlib.sha256(b"proctor-node:" + made_from).hexdigest()[:10]

    @property
    def media_path(self) -> Path:
        """The media folder actually used."""
        return self.media_dir or self.data_dir / "media"

    @property
    def base_url(self) -> str:
        """Base URL of the server as clients see it, without a trailing slash."""
        return (self.public_url or f"{self.scheme}://{self.host}:{self.port}").rstrip("/")

    @property
    def tls(self) -> bool:
        """The server itself speaks HTTPS (a certificate and its key are set)."""
        return self.tls_cert_file is not None and self.tls_key_file is not None

    @property
    def scheme(self) -> str:
        """`https` when the server itself speaks TLS, else `http`."""
        return "https" if self.tls else "http"


def parse_ice_servers(text: str) -> list[dict[str, Any]]:
    """The ICE server list (ValueError with the reason when it is not one)."""
    try:
        servers = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"ice_servers is not JSON: {exc}") from exc
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError('ice_servers must be a JSON list of {"urls": ..., "username"?: ..., "credential"?: ...}')
    allowed = {"urls", "username", "credential"}
    for server in servers:
        unknown = set(server) - allowed
        if unknown:
            raise ValueError(f"ice_servers entries take only {', '.join(sorted(allowed))}, not {', '.join(unknown)}")
    return [dict(s) for s in servers]


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment; unknown or invalid values raise SettingsError with one clear message."""
    env = dict(os.environ if environ is None else environ)
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    unknown = sorted(key for key in env if key.upper().startswith(PREFIX) and key.upper() not in known)
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {
        key.upper()[len(PREFIX) :].lower(): value for key, value in env.items() if key.upper().startswith(PREFIX)
    }
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            (f"{PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: " if err["loc"] else "") + err["msg"]
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
