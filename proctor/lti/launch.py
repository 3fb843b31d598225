"""An LTI 1.3 launch: OIDC third-party login initiation, then the platform's `id_token` checked in full.

1. The LMS sends the browser to the tool's initiate-login URL (issuer, login hint, target link, client id,
   deployment id). The tool records a fresh `state` (hashed) and `nonce` for that registration and sends the
   browser to the platform's authorization URL; the state also goes into a cookie of this browser.
2. The platform posts the `id_token` and the state back to the tool's launch URL. The state must be one the tool
   issued, unused, recent and the browser's own; the token must carry a signature by a key of the platform's JWKS
   (RS256 only), its issuer and audience (`aud`, and `azp` when there are several audiences), `exp` and `iat`,
   the nonce issued with that state, a deployment id the college registered, LTI version 1.3.0 and a message
   type the tool handles. Each state and nonce is used once: a replayed or re-posted token is refused.

Every refusal is a `LaunchRefused` with the reason shown to the person and logged (never the token itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from sqlalchemy import delete
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.lti import claims as c
from proctor.lti.registry import Platform, by_issuer, platform_of
from proctor.lti.tables import PlatformRow, StateRow
from proctor.outbound import OutboundPolicy, OutboundRefused
from proctor.sessions.errors import NotFoundError

STATE_TTL = timedelta(minutes=10)
"""How long a login may take between the tool's redirect and the platform's answer."""
LEEWAY_S = 30
"""Clock difference tolerated between the platform and the tool."""
MAX_TOKEN_AGE_S = 300
"""An id_token issued longer ago than this is refused whatever its `exp` says."""
JWKS_TTL_S = 300.0
JWKS_REFRESH_S = 10.0
"""An unknown key id makes the tool fetch the keyset again, at most this often."""
MAX_TOKEN_BYTES = 64 * 1024


class LaunchRefused(Exception):
    """A login or launch that may not go on: `reason` is shown to the person and logged; `code` names the check."""

    def __init__(self, code: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class LoginRequest:
    """What the platform sends to the initiate-login URL."""

    issuer: str
    login_hint: str
    target_link_uri: str
    lti_message_hint: str | None = None
    client_id: str | None = None
    deployment_id: str | None = None


@dataclass(frozen=True)
class LoginRedirect:
    """Where the browser goes next (the platform's authorization URL) and the state its cookie must hold."""

    url: str
    state: str


@dataclass(frozen=True)
class Launch:
    """A verified launch: the registration it came through and the claims the tool uses."""

    platform: Platform
    message_type: str
    sub: str
    roles: tuple[str, ...]
    access: c.Access
    claims: Mapping[str, Any] = field(repr=False)

    def claim(self, name: str) -> Mapping[str, Any]:
        value = self.claims.get(name)
        return value if isinstance(value, Mapping) else {}

    @property
    def deployment_id(self) -> str:
        return str(self.claims[c.DEPLOYMENT_ID])

    @property
    def full_name(self) -> str:
        name = str(self.claims.get("name") or "").strip()
        if not name:
            parts = (self.claims.get("given_name"), self.claims.get("middle_name"), self.claims.get("family_name"))
            name = " ".join(str(part).strip() for part in parts if part and str(part).strip())
        return (name or f"LMS user {self.sub}")[:300]

    @property
    def email(self) -> str | None:
        value = str(self.claims.get("email") or "").strip().lower()
        return value if "@" in value and len(value) <= 254 else None

    @property
    def person_sourcedid(self) -> str | None:
        value = str(self.claim(c.LIS).get("person_sourcedid") or "").strip()
        return value[:128] or None

    @property
    def resource_link_id(self) -> str | None:
        value = self.claim(c.RESOURCE_LINK).get("id")
        return str(value) if value else None

    @property
    def context_id(self) -> str | None:
        value = self.claim(c.CONTEXT).get("id")
        return str(value) if value else None

    @property
    def custom(self) -> Mapping[str, Any]:
        return self.claim(c.CUSTOM)

    @property
    def locale(self) -> str:
        value = self.claim(c.LAUNCH_PRESENTATION).get("locale") or self.claims.get("locale") or ""
        return str(value)

    @property
    def framed(self) -> bool:
        return self.claim(c.LAUNCH_PRESENTATION).get("document_target") in ("iframe", "frame")

    @property
    def memberships_url(self) -> str | None:
        value = self.claim(c.NRPS).get("context_memberships_url")
        return str(value) if value else None

    @property
    def lineitems_url(self) -> str | None:
        value = self.claim(c.AGS_ENDPOINT).get("lineitems")
        return str(value) if value else None

    @property
    def deep_linking(self) -> Mapping[str, Any]:
        return self.claim(c.DEEP_LINKING_SETTINGS)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def begin_login(db: Session, request: LoginRequest, redirect_uri: str, now: datetime | None = None) -> LoginRedirect:
    """Record a state and nonce for the registration the login names (in the caller's write transaction) and
    answer the platform's authorization URL."""
    if not request.issuer or not request.login_hint or not request.target_link_uri:
        raise LaunchRefused("login_params", "the LMS's login request lacks iss, login_hint or target_link_uri")
    try:
        platform = by_issuer(db, request.issuer, request.client_id)
    except NotFoundError as exc:
        raise LaunchRefused("unknown_platform", str(exc), 403) from exc
    if not platform.enabled:
        raise LaunchRefused("platform_disabled", "this LMS registration is disabled by the college's admin", 403)
    if request.deployment_id is not None and request.deployment_id not in platform.deployment_ids:
        raise LaunchRefused("unknown_deployment", "this LMS deployment is not registered by the college", 403)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.add(
        StateRow(
            state_hash=state_hash(state), platform_id=platform.id, nonce=nonce, created_at=now or datetime.now(UTC)
        )
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": request.login_hint,
        "state": state,
        "nonce": nonce,
    }
    if request.lti_message_hint is not None:
        query["lti_message_hint"] = request.lti_message_hint
    separator = "&" if "?" in platform.auth_url else "?"
    return LoginRedirect(platform.auth_url + separator + urlencode(query), state)


def forget_states(db: Session, before: datetime) -> int:
    """Delete the logins started before `before` (spent or abandoned: they can no longer be used anyway)."""
    result = db.execute(delete(StateRow).where(StateRow.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def use_state(db: Session, state: str, browser_state: str | None, now: datetime | None = None) -> tuple[Platform, str]:
    """Spend the state (in the caller's write transaction, whatever the token then proves): its platform and nonce."""
    if not state or len(state) > 200:
        raise LaunchRefused("state_missing", "the launch carries no state: start it again from the LMS")
    if browser_state is None or not hmac.compare_digest(browser_state.encode(), state.encode()):
        raise LaunchRefused(
            "state_cookie",
            "this browser did not start this launch (its state cookie is missing or different): start it again from "
            "the LMS; a browser that blocks third-party cookies must open the tool in a new window",
            403,
        )
    row = db.get(StateRow, state_hash(state), with_for_update=True)
    if row is None:
        raise LaunchRefused("state_unknown", "this launch's state was not issued here: start it again from the LMS")
    if row.used_at is not None:
        raise LaunchRefused("replay", "this launch was used already (a replayed or re-posted launch)", 403)
    moment = now or datetime.now(UTC)
    row.used_at = moment
    if moment - as_utc(row.created_at) > STATE_TTL:
        raise LaunchRefused("state_expired", "the login took too long: start it again from the LMS")
    platform_row = db.get(PlatformRow, row.platform_id)
    if platform_row is None or platform_row.disabled_at is not None:
        raise LaunchRefused("platform_disabled", "this LMS registration is disabled by the college's admin", 403)
    return platform_of(platform_row), row.nonce


class KeysetCache:
    """The platforms' public keysets, fetched through the vetted outbound client and kept `JWKS_TTL_S`; an unknown
    key id fetches the keyset again (a platform that rotated its key), at most every `JWKS_REFRESH_S`."""

    def __init__(self, outbound: OutboundPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._outbound = outbound
        self._clock = clock
        self._lock = threading.Lock()
        self._keysets: dict[str, tuple[float, dict[str, Any]]] = {}

    def key(self, platform: Platform, kid: str | None) -> Any:
        now = self._clock()
        with self._lock:
            cached = self._keysets.get(platform.jwks_url)
        fresh = cached is not None and now - cached[0] < JWKS_TTL_S
        keys = cached[1] if cached is not None else {}
        if not fresh or (kid not in keys and (cached is None or now - cached[0] >= JWKS_REFRESH_S)):
            keys = self._fetch(platform)
            with self._lock:
                self._keysets[platform.jwks_url] = (now, keys)
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if kid not in keys:
            raise LaunchRefused("unknown_key", "the launch is signed with a key the LMS does not publish", 403)
        return keys[kid]

    def _fetch(self, platform: Platform) -> dict[str, Any]:
        try:
            with self._outbound.client("LTI platform keyset") as client:
                response = client.get(platform.jwks_url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
            found: dict[str, Any] = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                    found[str(jwk.get("kid"))] = jwt.PyJWK(jwk, algorithm="RS256").key
            return found
        except (OutboundRefused, httpx.HTTPError, ValueError, TypeError, AttributeError, jwt.PyJWKError) as exc:
            raise LaunchRefused(
                "jwks_unavailable", f"the LMS's public keyset could not be read ({type(exc).__name__}: {exc})", 502
            ) from exc


def verify_id_token(
    token: str, platform: Platform, nonce: str, keysets: KeysetCache, now: float | None = None
) -> Launch:
    """Check the id_token against its registration; LaunchRefused naming the first check it fails."""
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise LaunchRefused("token_missing", "the launch carries no id_token (or one too large)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LaunchRefused("token_malformed", "the id_token is not a JWT") from exc
    if header.get("alg") != "RS256":
        raise LaunchRefused("algorithm", "the id_token must be signed with RS256", 403)
    key = keysets.key(platform, header.get("kid"))
    moment = now if now is not None else time.time()
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LaunchRefused("expired", "the launch has expired: start it again from the LMS", 403) from exc
    except jwt.InvalidAudienceError as exc:
        raise LaunchRefused("audience", "the launch is meant for another tool (wrong audience)", 403) from exc
    except jwt.InvalidIssuerError as exc:
        raise LaunchRefused("issuer", "the launch comes from another issuer than the registered one", 403) from exc
    except jwt.InvalidSignatureError as exc:
        raise LaunchRefused("signature", "the launch's signature does not verify", 403) from exc
    except jwt.PyJWTError as exc:
        raise LaunchRefused("token_invalid", f"the id_token is not valid ({exc})", 403) from exc
    issued = payload.get("iat")
    if not isinstance(issued, int | float) or issued > moment + LEEWAY_S or moment - issued > MAX_TOKEN_AGE_S:
        raise LaunchRefused("issued_at", "the launch was issued at a wrong time (check the LMS's clock)", 403)
    audience = payload["aud"]
    if isinstance(audience, list) and len(audience) > 1 and payload.get("azp") != platform.client_id:
        raise LaunchRefused("azp", "the launch names several audiences without this tool as its azp", 403)
    if "azp" in payload and payload["azp"] != platform.client_id:
        raise LaunchRefused("azp", "the launch's authorized party (azp) is another tool", 403)
    if not hmac.compare_digest(str(payload["nonce"]).encode(), nonce.encode()):
        raise LaunchRefused("nonce", "the launch's nonce is not the one this login issued (a replay)", 403)
    if payload.get(c.DEPLOYMENT_ID) not in platform.deployment_ids:
        raise LaunchRefused("unknown_deployment", "this LMS deployment is not registered by the college", 403)
    if payload.get(c.VERSION) != c.LTI_VERSION:
        raise LaunchRefused("version", "only LTI 1.3.0 launches are accepted")
    message = payload.get(c.MESSAGE_TYPE)
    if message not in (c.RESOURCE_LINK_REQUEST, c.DEEP_LINKING_REQUEST):
        raise LaunchRefused("message_type", f"the tool does not handle {message!r} messages")
    sub = str(payload["sub"]).strip()
    if not sub or len(sub) > 255:
        raise LaunchRefused("sub", "the launch names no user (anonymous launches are not proctored)")
    roles = payload.get(c.ROLES)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise LaunchRefused("roles", "the launch carries no list of roles")
    link, deep = payload.get(c.RESOURCE_LINK), payload.get(c.DEEP_LINKING_SETTINGS)
    if message == c.RESOURCE_LINK_REQUEST and not (isinstance(link, dict) and link.get("id")):
        raise LaunchRefused("resource_link", "the launch names no resource link")
    if message == c.DEEP_LINKING_REQUEST and not (isinstance(deep, dict) and deep.get("deep_link_return_url")):
        raise LaunchRefused("deep_linking", "the deep-linking request has no return URL")
    return Launch(platform, str(message), sub, tuple(roles), c.access_of(roles), payload)
