"""LTI Dynamic Registration 1.0 (Moodle 3.10+, Canvas, Sakai…): the LMS admin pastes one URL instead of copying
six values each way.

A college admin makes a registration link (signed by the tool, valid a day, good for one registration: its use is
a ledger record, whose (kind, id) cannot repeat). The LMS opens it with its `openid_configuration` URL and a
`registration_token`; the tool reads the LMS's configuration (through the vetted outbound client: the
configuration's issuer must be the host the configuration came from), posts its own configuration to the LMS's
registration endpoint, and registers the LMS for the college with the client id and deployment id the LMS answers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.ledger import Ledger
from footprint.ledger.tables import EntryRow
from proctor.lti import claims as c
from proctor.lti.keys import signing_key, verify
from proctor.lti.launch import LaunchRefused
from proctor.lti.registry import Platform, PlatformSpec, register
from proctor.outbound import OutboundPolicy, OutboundRefused

LINK_AUDIENCE = "proctor-lti-registration"
LINK_HOURS = 24
LEDGER_KIND = "lti_registration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"


@dataclass(frozen=True)
class RegistrationLink:
    url: str
    expires_at: datetime


def make_link(db: Session, college_id: str, base_url: str, now: datetime | None = None) -> RegistrationLink:
    """A one-time registration link for the college (what its LMS admin pastes into the LMS)."""
    moment = now or datetime.now(UTC)
    expires = moment + timedelta(hours=LINK_HOURS)
    token = signing_key(db).sign(
        {"aud": LINK_AUDIENCE, "college": college_id, "jti": secrets.token_urlsafe(12), "exp": int(expires.timestamp())}
    )
    return RegistrationLink(f"{base_url}/lti/register/{token}", expires)


def read_link(db: Session, token: str) -> tuple[str, str]:
    """The college and the link's id; LaunchRefused for a link not made here, expired or used."""
    try:
        claims = verify(db, token, LINK_AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise LaunchRefused("registration_expired", "this registration link has expired: make a new one", 410) from exc
    except jwt.PyJWTError as exc:
        raise LaunchRefused("registration_link", "this registration link was not made by this platform", 404) from exc
    link_id = str(claims.get("jti"))
    used = select(EntryRow.index).where(EntryRow.kind == LEDGER_KIND, EntryRow.record_id == link_id)
    if db.scalar(used) is not None:
        raise LaunchRefused("registration_used", "this registration link was used already: make a new one", 410)
    return str(claims["college"]), link_id


def tool_configuration(base_url: str, name: str) -> dict[str, Any]:
    """The tool's registration request (LTI Dynamic Registration §3.4)."""
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{base_url}/lti/login",
        "redirect_uris": [f"{base_url}/lti/launch"],
        "client_name": name,
        "jwks_uri": f"{base_url}/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join([c.SCOPE_LINEITEM, c.SCOPE_LINEITEM_READ, c.SCOPE_SCORE, c.SCOPE_MEMBERSHIPS]),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(base_url).netloc,
            "target_link_uri": f"{base_url}/lti/launch",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": c.DEEP_LINKING_REQUEST, "target_link_uri": f"{base_url}/lti/launch", "label": name},
            ],
            "description": "Online proctoring of exams: identity, recording, flags for examiners",
        },
    }


@dataclass(frozen=True)
class Registered:
    """What the LMS answered: enough to register it."""

    spec: PlatformSpec


def _fetch_json(client: httpx.Client, method: str, url: str, **options: Any) -> dict[str, Any]:
    try:
        response = client.request(method, url, **options)
    except (OutboundRefused, httpx.HTTPError) as exc:
        raise LaunchRefused("registration_unreachable", f"the LMS could not be reached ({exc})", 502) from exc
    if not 200 <= response.status_code < 300:
        raise LaunchRefused(
            "registration_refused", f"the LMS answered {response.status_code}: {response.text[:200]}", 502
        )
    try:
        document = response.json()
    except ValueError as exc:
        raise LaunchRefused("registration_answer", "the LMS answered something that is not JSON", 502) from exc
    if not isinstance(document, dict):
        raise LaunchRefused("registration_answer", "the LMS answered JSON that is not an object", 502)
    return document


def negotiate(
    outbound: OutboundPolicy, configuration_url: str, registration_token: str | None, base_url: str, name: str
) -> Registered:
    """Read the LMS's configuration and register the tool with it (no database work: the caller records it)."""
    try:
        with outbound.client("LTI registration") as client:
            config = _fetch_json(client, "GET", configuration_url, headers={"Accept": "application/json"})
            issuer = str(config.get("issuer") or "")
            if urlsplit(issuer).netloc != urlsplit(configuration_url).netloc or not issuer.startswith("http"):
                raise LaunchRefused("registration_issuer", "the LMS's configuration names an issuer on another host")
            endpoint = str(config.get("registration_endpoint") or "")
            needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if not endpoint or any(not config.get(field) for field in needed):
                raise LaunchRefused("registration_config", "the LMS's configuration lacks its endpoints")
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if registration_token:
                headers["Authorization"] = f"Bearer {registration_token}"
            answer = _fetch_json(client, "POST", endpoint, headers=headers, json=tool_configuration(base_url, name))
    except OutboundRefused as exc:
        raise LaunchRefused("registration_unreachable", str(exc), 502) from exc
    client_id = str(answer.get("client_id") or "")
    tool = answer.get(TOOL_CONFIGURATION)
    deployment = str(tool.get("deployment_id") or "") if isinstance(tool, dict) else ""
    if not client_id or not deployment:
        raise LaunchRefused("registration_answer", "the LMS's answer has no client_id or deployment_id", 502)
    platform_name = str((config.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code") or "LMS")
    spec = PlatformSpec(
        name=f"{platform_name} {urlsplit(issuer).netloc}"[:300],
        issuer=issuer,
        client_id=client_id,
        deployment_ids=(deployment,),
        jwks_url=str(config["jwks_uri"]),
        auth_url=str(config["authorization_endpoint"]),
        token_url=str(config["token_endpoint"]),
    )
    return Registered(spec)


def record(db: Session, ledger: Ledger, college_id: str, link_id: str, registered: Registered) -> Platform:
    """Register the LMS for the college and spend the link (in the caller's transaction)."""
    platform = register(db, college_id, registered.spec)
    ledger.append(
        db,
        LEDGER_KIND,
        link_id,
        {"college": college_id, "platform": platform.id, "issuer": platform.issuer, "client_id": platform.client_id},
    )
    return platform
