"""The LMS in the LTI tests: a Moodle 4.x site's LTI 1.3 side, served for real over HTTP.

The proctoring platform is an LTI 1.3 *tool*; a college's Moodle is the *platform* that launches it. Moodle is
outside this project, so the tests stand it in with `PlatformEmulator`: a Starlette app served by uvicorn in a
thread of the test process, on 127.0.0.1 and a free port. Mocks are allowed only for what is outside the project,
and the LMS is; nothing of the tool itself is mocked: the tool fetches this emulator's JWKS, asks its token
endpoint for access tokens and calls its roster (NRPS) and grade (AGS) services over real HTTP, and a browser
(Playwright) can walk the whole OIDC launch from a course page.

Everything mirrors Moodle 4.x `mod/lti` (the code in moodle/moodle, not only the 1EdTech specs):

- the URLs: `mod/lti/certs.php`, `auth.php`, `token.php`, `services.php/...` with Moodle's `?type_id=N`,
  `contentitem_return.php?course=..&id=..&sesskey=..`, so a tool that assumes a URL shape breaks here as on Moodle;
- the id_token claims Moodle builds (`lti_sign_jwt`): `aud` a string, `exp` = `iat` + 60, roles sorted, the context
  type `CourseSection`, no `custom` claim unless there are custom parameters; see docs/lti-claims.md;
- Moodle's checks where a tool goes wrong in practice: `services.php` compares Content-Type (and, for GET, Accept)
  *exactly* with the service's media types, so `application/vnd.ims.lis.v1.score+json; charset=utf-8` is a 400;
  GET of the line items container wants Accept exactly `application/vnd.ims.lis.v2.lineitemcontainer+json` (or
  none: `*/*` is a 400 there); a missing or wrong token is 401 for AGS but 403 for NRPS; an `lti_message_hint`
  serves one login only; the roster leaves out suspended enrolments; the line items' Link header uses Moodle's
  curly quotes (rel=“next”); the NRPS next link keeps limit, from and rlid but drops role, as Moodle's does.

Where the tests need more than Moodle checks, the emulator is stricter, never looser: the client assertion's
`aud`, `exp` and `jti`, a deep-linking answer's `aud`, `nonce`, `data` and content item types, `prompt=none`,
`state`, and AGS score values (progress enumerations, 0 ≤ scoreGiven ≤ scoreMaximum).
"""

from __future__ import annotations

import html
import json
import re
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias
from urllib.parse import urlencode

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

# LIS roles, as full URIs (what Moodle sends in LTI 1.3 launches and in the roster)
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
ADMINISTRATOR = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
SYSTEM_ADMINISTRATOR = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"

# id_token claims (LTI Core 1.3, Deep Linking 2.0, AGS 2.0, NRPS 2.0)
_LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = _LTI + "message_type"
CLAIM_VERSION = _LTI + "version"
CLAIM_DEPLOYMENT_ID = _LTI + "deployment_id"
CLAIM_TARGET_LINK_URI = _LTI + "target_link_uri"
CLAIM_RESOURCE_LINK = _LTI + "resource_link"
CLAIM_ROLES = _LTI + "roles"
CLAIM_CONTEXT = _LTI + "context"
CLAIM_LIS = _LTI + "lis"
CLAIM_LAUNCH_PRESENTATION = _LTI + "launch_presentation"
CLAIM_EXT = _LTI + "ext"
CLAIM_TOOL_PLATFORM = _LTI + "tool_platform"
CLAIM_CUSTOM = _LTI + "custom"
CLAIM_AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
CLAIM_DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"

# OAuth 2 scopes of the services
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE]
SCOPES = frozenset([*AGS_SCOPES, SCOPE_NRPS])

# media types of the services (compared exactly, as Moodle does)
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
SCORES_TYPE = "application/vnd.ims.lis.v1.scorecontainer+json"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LEGACY_MEMBERSHIPS_TYPE = "application/vnd.ims.lis.v2.membershipcontainer+json"  # LTI 2.0's; not emulated

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MOODLE_VERSION = "2024042200"  # Moodle 4.4.0's $CFG->version
TOKEN_LIFE = 3600  # Moodle's LTI_ACCESS_TOKEN_LIFE
ACTIVITY_PROGRESS = frozenset(["Initialized", "Started", "InProgress", "Submitted", "Completed"])
GRADING_PROGRESS = frozenset(["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"])
_LAUNCH_CONTAINER = {"iframe": 3, "window": 4, "frame": 5}  # Moodle's LTI_LAUNCH_CONTAINER_* for return.php

SigningKey: TypeAlias = rsa.RSAPrivateKey | EllipticCurvePrivateKey | Ed25519PrivateKey | str | bytes


@dataclass
class Member:
    """A person enrolled in the emulated course, as Moodle knows them."""

    sub: str  # Moodle's user id, as text ("5"): the id_token's `sub`, NRPS `user_id`, AGS `userId`
    given_name: str
    family_name: str
    email: str
    roles: list[str]  # full LIS role URIs (LEARNER, INSTRUCTOR, ...)
    person_sourcedid: str = ""  # Moodle's user "idnumber": a college's own id, often the IIN
    status: str = "Active"  # anything else is a suspended enrolment: Moodle leaves it out of the roster
    username: str = ""  # Moodle's login name (ext.user_username); the e-mail's local part when empty

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def login(self) -> str:
        return self.username or self.email.partition("@")[0]


@dataclass
class _Launch:
    """What Moodle's session remembers between the login initiation and auth.php."""

    member: Member
    message: Literal["resource", "deeplink"]
    resource_link_id: str
    resource_title: str
    custom: dict[str, str] | None
    target_link_uri: str | None
    document_target: str


@dataclass(frozen=True)
class _Resource:
    """One `services.php` resource, as Moodle's dispatcher sees it."""

    name: str
    pattern: re.Pattern[str]
    formats: tuple[str, ...]
    methods: frozenset[str]


_RESOURCES = (
    _Resource(
        "lineitem",
        re.compile(r"/(?P<course>[^/]+)/lineitems/(?P<item>[^/]+)/lineitem"),
        (LINEITEM_TYPE,),
        frozenset(["GET", "PUT", "DELETE"]),
    ),
    _Resource(
        "lineitems",
        re.compile(r"/(?P<course>[^/]+)/lineitems"),
        (LINEITEMS_TYPE, LINEITEM_TYPE),
        frozenset(["GET", "POST"]),
    ),
    _Resource(
        "results",
        re.compile(r"/(?P<course>[^/]+)/lineitems/(?P<item>[^/]+)/lineitem/results"),
        (RESULTS_TYPE,),
        frozenset(["GET"]),
    ),
    _Resource(
        "scores",
        re.compile(r"/(?P<course>[^/]+)/lineitems/(?P<item>[^/]+)/lineitem/scores"),
        (SCORES_TYPE, SCORE_TYPE),
        frozenset(["POST"]),
    ),
    _Resource(
        "memberships",
        re.compile(r"/(?P<kind>[^/]+)/(?P<course>[^/]+)/bindings/(?P<tool>[^/]+)/memberships"),
        (LEGACY_MEMBERSHIPS_TYPE, MEMBERSHIPS_TYPE),
        frozenset(["GET"]),
    ),
)


class _Refused(Exception):
    """A request the emulated Moodle turns down; the message says why (for the test that reads it)."""


class _Recorder:
    """ASGI wrapper that notes "METHOD path?query" of every HTTP request."""

    def __init__(self, app: ASGIApp, log: list[str]) -> None:
        self._app = app
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            self._log.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))
        await self._app(scope, receive, send)


def _text(status: int, reason: str) -> PlainTextResponse:
    return PlainTextResponse(reason, status_code=status)


def _typed_json(body: Any, media_type: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _auto_post_form(action: str, name: str, fields: dict[str, str]) -> str:
    """A form Moodle posts by script as soon as the page loads (its login initiation and auth.php answers)."""
    inputs = "".join(
        f'  <input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}"/>\n'
        for key, value in fields.items()
    )
    return (
        f'<form action="{html.escape(action)}" name="{name}" id="{name}" method="post" '
        f'enctype="application/x-www-form-urlencoded">\n{inputs}</form>\n'
        "<script>document.forms[0].submit();</script>"
    )


def _number(value: Any) -> float | None:
    """A JSON number (PHP's is_numeric also takes numeric text); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int_param(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


class PlatformEmulator:
    """A Moodle 4.x site's LTI 1.3 side, with one course and one tool registered in it (the proctoring platform).

    Use it as a context manager: the server runs between `__enter__` and `__exit__`; its URLs are known from
    construction. Tests arrange the course (`members`), the tool registration (`configure_tool`) and outages
    (`down`), then read what the tool did (`line_items`, `scores`, `deep_links`, `requests`).
    """

    def __init__(
        self,
        name: str = "Moodle A",
        *,
        client_id: str = "tool-a",
        deployment_id: str = "1",
        course_id: str = "2",
        type_id: str = "3",
        course_label: str = "PHY101",
        course_title: str = "Physics 101",
    ) -> None:
        self.name = name
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.course_id = course_id
        self.type_id = type_id
        self.course_label = course_label
        self.course_title = course_title

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        weakref.finalize(self, self._socket.close)  # an emulator never entered leaves no socket open
        self.port = int(self._socket.getsockname()[1])
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.sesskey = secrets.token_urlsafe(8)
        self.jwks_url = f"{self.issuer}/mod/lti/certs.php"
        self.auth_url = f"{self.issuer}/mod/lti/auth.php"
        self.token_url = f"{self.issuer}/mod/lti/token.php"
        self.lineitems_endpoint = f"{self.issuer}/mod/lti/services.php/{course_id}/lineitems"
        self.lineitems_url = f"{self.lineitems_endpoint}?type_id={type_id}"
        self.memberships_url = (
            f"{self.issuer}/mod/lti/services.php/CourseSection/{course_id}/bindings/{type_id}/memberships"
        )
        self.openid_configuration_url = f"{self.issuer}/mod/lti/openid-configuration.php"
        self.registration_url = f"{self.issuer}/mod/lti/openid-registration.php"
        self.deep_link_return_url = f"{self.issuer}/mod/lti/contentitem_return.php?" + urlencode(
            {"course": course_id, "id": type_id, "sesskey": self.sesskey}
        )

        # the course and what the tool did in it
        self.members: list[Member] = []
        self.down = False
        self.line_items: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.deep_links: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.resource_links: set[str] = set()  # LTI activities of the course (line items may point at these)

        # the tool registration (Site administration > Plugins > External tool > Manage tools)
        self.login_url: str | None = None
        self.redirect_uris: list[str] = []
        self.tool_url: str | None = None
        self.tool_jwks_url: str | None = None
        self.tool_jwks: dict[str, Any] | None = None
        self.registrations: list[dict[str, Any]] = []  # what tools sent to the dynamic registration endpoint
        self._registration_tokens: set[str] = set()

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(10)
        self._lock = threading.Lock()
        self._launches: dict[str, _Launch] = {}  # lti_message_hint -> launch (one login each)
        self._courses: dict[str, _Launch] = {}  # course page hint -> launch (as often as the page is opened)
        self._tokens: dict[str, tuple[frozenset[str], float]] = {}
        self._dl_data: set[str] = set()
        self._items: dict[int, dict[str, Any]] = {}
        self._next_item = 1

        app = Starlette(
            routes=[
                Route("/mod/lti/certs.php", self._certs, methods=["GET"]),
                Route("/mod/lti/auth.php", self._auth, methods=["GET", "POST"]),
                Route("/mod/lti/token.php", self._token, methods=["GET", "POST"]),
                Route("/mod/lti/services.php/{rest:path}", self._services, methods=["GET", "POST", "PUT", "DELETE"]),
                Route("/mod/lti/contentitem_return.php", self._deep_link_return, methods=["GET", "POST"]),
                Route("/mod/lti/launch.php", self._launch_page, methods=["GET"]),
                Route("/mod/lti/return.php", self._return_page, methods=["GET"]),
                Route("/course/{hint}", self._course_page, methods=["GET"]),
                Route("/mod/lti/openid-configuration.php", self._openid_configuration, methods=["GET"]),
                Route("/mod/lti/openid-registration.php", self._dynamic_registration, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(_Recorder(app, self.requests), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"lms-{name}", daemon=True
        )

    # -- serving ---------------------------------------------------------------------------------------------

    def __enter__(self) -> PlatformEmulator:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the LMS emulator {self.name!r} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    # -- what the tests arrange ------------------------------------------------------------------------------

    def configure_tool(
        self,
        *,
        login_url: str,
        redirect_uris: list[str],
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        tool_url: str | None = None,
    ) -> None:
        """Register the tool as a Moodle admin does: its initiate-login URL, redirection URI(s), its keys (a
        public keyset URL, fetched at each use, or a JWKS given here) and its Tool URL (Moodle's
        `target_link_uri`; the first redirection URI when not given)."""
        self.login_url = login_url
        self.redirect_uris = list(redirect_uris)
        self.tool_jwks_url = jwks_url
        self.tool_jwks = jwks
        self.tool_url = tool_url or (redirect_uris[0] if redirect_uris else None)

    def rotate_key(self) -> None:
        """A new platform key; the old one leaves the JWKS at once (tokens it signed no longer verify)."""
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(10)

    def expire_tokens(self) -> None:
        """Every access token handed out so far expires now (the tool has to ask token.php again)."""
        with self._lock:
            self._tokens.clear()

    @property
    def kid(self) -> str:
        """The key id of the platform's current key."""
        return self._kid

    @property
    def public_jwks(self) -> dict[str, Any]:
        """What certs.php answers."""
        jwk = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{"kty": "RSA", "alg": "RS256", "kid": self._kid, "e": jwk["e"], "n": jwk["n"], "use": "sig"}]}

    # -- launches --------------------------------------------------------------------------------------------

    def claims(
        self,
        member: Member,
        *,
        message: Literal["resource", "deeplink"] = "resource",
        resource_link_id: str = "17",
        resource_title: str = "Final exam (proctored)",
        custom: dict[str, str] | None = None,
        nonce: str,
        target_link_uri: str | None = None,
        document_target: str = "iframe",
    ) -> dict[str, Any]:
        """The id_token payload Moodle 4.x builds for `member` (documented in docs/lti-claims.md).

        `target_link_uri` defaults to the registered Tool URL. A deep-linking request carries fresh `data`,
        which the emulator expects back in the tool's answer. `custom` None leaves the custom claim out, as
        Moodle does when the activity has no custom parameters. A member not in `members` is enrolled (appended):
        in Moodle only enrolled users launch."""
        target = target_link_uri or self.tool_url
        if target is None:
            raise RuntimeError("no target_link_uri: pass one, or configure_tool() first")
        now = int(time.time())
        resource = message == "resource"
        return_query: dict[str, str | int] = {
            "course": self.course_id,
            "launch_container": _LAUNCH_CONTAINER.get(document_target, 3),
        }
        if resource:
            return_query["instanceid"] = resource_link_id
        return_query["sesskey"] = self.sesskey
        payload: dict[str, Any] = {
            "nonce": nonce,
            "iat": now,
            "exp": now + 60,
            "iss": self.issuer,
            "aud": self.client_id,
            CLAIM_DEPLOYMENT_ID: self.deployment_id,
            CLAIM_TARGET_LINK_URI: target,
        }
        if resource:
            payload[CLAIM_RESOURCE_LINK] = {"title": resource_title, "description": "", "id": resource_link_id}
        payload.update(
            {
                "sub": member.sub,
                CLAIM_LIS: {"person_sourcedid": member.person_sourcedid, "course_section_sourcedid": ""},
                CLAIM_ROLES: sorted(member.roles),
                CLAIM_CONTEXT: {
                    "id": self.course_id,
                    "label": self.course_label,
                    "title": self.course_title,
                    "type": ["CourseSection"],
                },
                "given_name": member.given_name,
                "family_name": member.family_name,
                "name": member.name,
                CLAIM_EXT: {"user_username": member.login, "lms": "moodle-2"},
                "email": member.email,
                CLAIM_LAUNCH_PRESENTATION: {
                    "locale": "en",
                    "document_target": document_target,
                    "return_url": f"{self.issuer}/mod/lti/return.php?{urlencode(return_query)}",
                },
                CLAIM_TOOL_PLATFORM: {
                    "product_family_code": "moodle",
                    "version": MOODLE_VERSION,
                    "guid": "127.0.0.1",
                    "name": self.name,
                    "description": self.name,
                },
                CLAIM_VERSION: "1.3.0",
                CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest" if resource else "LtiDeepLinkingRequest",
            }
        )
        if custom is not None:
            payload[CLAIM_CUSTOM] = dict(custom)
        if not any(enrolled.sub == member.sub for enrolled in self.members):
            self.members.append(member)  # only enrolled users launch in Moodle: whoever launches is enrolled
        if resource:
            self.resource_links.add(resource_link_id)
        else:
            data = secrets.token_urlsafe(16)
            self._dl_data.add(data)
            payload[CLAIM_DL_SETTINGS] = {
                "accept_copy_advice": False,
                "accept_multiple": True,
                "accept_presentation_document_targets": ["frame", "iframe", "window"],
                "accept_types": ["ltiResourceLink"],
                "accept_unsigned": False,
                "auto_create": False,
                "can_confirm": False,
                "deep_link_return_url": self.deep_link_return_url,
                "title": "",
                "text": "",
                "data": data,
            }
        payload[CLAIM_AGS_ENDPOINT] = {"scope": list(AGS_SCOPES), "lineitems": self.lineitems_url}
        payload[CLAIM_NRPS] = {"context_memberships_url": self.memberships_url, "service_versions": ["1.0", "2.0"]}
        return payload

    def sign(
        self, claims: dict[str, Any], *, key: SigningKey | None = None, kid: str | None = None, algorithm: str = "RS256"
    ) -> str:
        """An id_token: `claims` signed with the platform key, or with `key` (a refusal test's). The header's kid
        is the platform's unless `kid` is given; algorithm "none" signs nothing."""
        signing_key: SigningKey = "" if algorithm == "none" else (key if key is not None else self._key)
        return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid or self._kid})

    def login_params(
        self,
        member: Member,
        *,
        message: Literal["resource", "deeplink"] = "resource",
        resource_link_id: str = "17",
        custom: dict[str, str] | None = None,
        target_link_uri: str | None = None,
        document_target: str = "iframe",
        resource_title: str = "Final exam (proctored)",
    ) -> dict[str, str]:
        """The form Moodle posts to the tool's initiate-login URL. Its `lti_message_hint` (Moodle's JSON hint,
        opaque to the tool) is remembered to rebuild the launch at auth.php, for one login only."""
        return self._login_form(
            _Launch(member, message, resource_link_id, resource_title, custom, target_link_uri, document_target)
        )

    def course_url(
        self,
        member: Member,
        *,
        message: Literal["resource", "deeplink"] = "resource",
        framed: bool = True,
        resource_link_id: str = "17",
        resource_title: str = "Final exam (proctored)",
        custom: dict[str, str] | None = None,
        target_link_uri: str | None = None,
    ) -> str:
        """A page of the course, seen by `member`, that launches the tool when opened (each opening is a new
        launch): framed, the tool opens in an iframe under the course header (Moodle's "Embed"); unframed, the
        page posts the login form at top level ("New window")."""
        if self.login_url is None:
            raise RuntimeError("configure_tool() first: the course page posts to the tool's login URL")
        hint = secrets.token_urlsafe(8)
        self._courses[hint] = _Launch(
            member,
            message,
            resource_link_id,
            resource_title,
            custom,
            target_link_uri,
            "iframe" if framed else "window",
        )
        return f"{self.issuer}/course/{hint}"

    def _login_form(self, launch: _Launch) -> dict[str, str]:
        target = launch.target_link_uri or self.tool_url
        if target is None:
            raise RuntimeError("no target_link_uri: pass one, or configure_tool() first")
        random_part = secrets.randbelow(2**31)
        if launch.message == "resource":
            hint_data: dict[str, Any] = {"launchid": f"ltilaunch{launch.resource_link_id}_{random_part}"}
            if launch.resource_link_id.isdigit():
                hint_data = {"cmid": int(launch.resource_link_id) + 40, **hint_data}
        else:
            hint_data = {"launchid": f"ltilaunch_ContentItemSelectionRequest{random_part}"}
        message_hint = json.dumps(hint_data, separators=(",", ":"))
        self._launches[message_hint] = launch
        return {
            "iss": self.issuer,
            "target_link_uri": target,
            "login_hint": launch.member.sub,
            "lti_message_hint": message_hint,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }

    # -- endpoints: keys and the OIDC launch -----------------------------------------------------------------

    async def _certs(self, request: Request) -> Response:
        return JSONResponse(self.public_jwks)

    async def _auth(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
        try:
            launch, redirect_uri = self._check_auth(params)
        except _Refused as refusal:
            return _text(400, str(refusal))
        self._launches.pop(params["lti_message_hint"], None)  # one login per hint, as in Moodle
        id_token = self.sign(
            self.claims(
                launch.member,
                message=launch.message,
                resource_link_id=launch.resource_link_id,
                resource_title=launch.resource_title,
                custom=launch.custom,
                nonce=params["nonce"],
                target_link_uri=launch.target_link_uri,
                document_target=launch.document_target,
            )
        )
        form_html = _auto_post_form(redirect_uri, "ltiAuthForm", {"id_token": id_token, "state": params["state"]})
        return _page(self.name, form_html)

    def _check_auth(self, params: dict[str, str]) -> tuple[_Launch, str]:
        def require(name: str, expected: str | None = None) -> str:
            value = params.get(name, "")
            if not value:
                raise _Refused(f"invalid_request: {name} is missing")
            if expected is not None and value != expected:
                raise _Refused(f"invalid_request: {name} must be {expected!r}, not {value!r}")
            return value

        require("scope", "openid")
        require("response_type", "id_token")
        require("response_mode", "form_post")
        require("prompt", "none")
        require("client_id", self.client_id)
        redirect_uri = require("redirect_uri")
        if redirect_uri not in self.redirect_uris:
            raise _Refused(f"invalid_request: redirect_uri {redirect_uri!r} is not registered for the tool")
        login_hint = require("login_hint")
        launch = self._launches.get(require("lti_message_hint"))
        if launch is None:
            raise _Refused("invalid_request: unknown or already used lti_message_hint")
        if login_hint != launch.member.sub:
            raise _Refused("access_denied: login_hint is not the user who launched")
        require("nonce")
        require("state")
        return launch, redirect_uri

    async def _course_page(self, request: Request) -> Response:
        hint = request.path_params["hint"]
        launch = self._courses.get(hint)
        if launch is None or self.login_url is None:
            return _text(404, "no such course page")
        header = (
            f'<header id="course-header"><h1>{html.escape(self.course_title)}</h1>'
            f"<p>{html.escape(self.course_label)} · {html.escape(self.name)} · "
            f'<span id="user">{html.escape(launch.member.name)}</span></p></header>'
        )
        if launch.document_target == "iframe":
            frame = (
                f'<iframe id="tool" src="/mod/lti/launch.php?hint={html.escape(hint)}" width="100%" height="900" '
                f'style="border:0" allow="camera *; microphone *; display-capture *" allowfullscreen></iframe>'
            )
            return _page(f"{self.course_label}: {launch.resource_title}", f"{header}\n{frame}")
        form = _auto_post_form(self.login_url, "ltiInitiateLoginForm", self._login_form(launch))
        return _page(f"{self.course_label}: {launch.resource_title}", f"{header}\n{form}")

    async def _launch_page(self, request: Request) -> Response:
        launch = self._courses.get(request.query_params.get("hint", ""))
        if launch is None or self.login_url is None:
            return _text(404, "no such activity")
        return _page(self.name, _auto_post_form(self.login_url, "ltiInitiateLoginForm", self._login_form(launch)))

    async def _return_page(self, request: Request) -> Response:
        message = request.query_params.get("lti_msg") or request.query_params.get("lti_errormsg") or ""
        return _page(
            self.course_title,
            f'<h1 id="returned">{html.escape(self.course_title)}</h1><p id="message">{html.escape(message)}</p>',
        )

    # -- the tool's keys -------------------------------------------------------------------------------------

    async def _tool_keyset(self) -> jwt.PyJWKSet:
        if self.tool_jwks_url is not None:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    answer = await client.get(self.tool_jwks_url)
                    answer.raise_for_status()
                    jwks = answer.json()
            except (httpx.HTTPError, ValueError) as error:
                raise _Refused(f"the tool's keyset {self.tool_jwks_url} could not be read: {error!r}") from error
        elif self.tool_jwks is not None:
            jwks = self.tool_jwks
        else:
            raise _Refused("no keys registered for the tool")
        if not isinstance(jwks, dict):
            raise _Refused("the tool's keyset is not a JSON object")
        try:
            return jwt.PyJWKSet.from_dict(jwks)
        except jwt.PyJWTError as error:
            raise _Refused(f"the tool's keyset is unusable: {error}") from error

    async def _verify_tool_jwt(self, token: str, *, audience: str, required: list[str]) -> dict[str, Any]:
        """Claims of a JWT the tool signed (RS256, its key found by kid), or _Refused saying what is wrong."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise _Refused(f"not a JWT: {error}") from error
        if header.get("alg") != "RS256":
            raise _Refused(f"alg must be RS256, not {header.get('alg')!r}")
        kid = header.get("kid")
        keyset = await self._tool_keyset()
        key = next((candidate for candidate in keyset.keys if candidate.key_id == kid), None)
        if key is None:
            raise _Refused(f"no key with kid {kid!r} in the tool's keyset")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=audience,
                issuer=self.client_id,
                options={"require": required},
            )
        except jwt.PyJWTError as error:
            raise _Refused(f"{type(error).__name__}: {error}") from error

    # -- endpoints: OAuth 2 ----------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if self.down:
            return _text(503, "Service Unavailable")
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        if request.method != "POST" or content_type != "application/x-www-form-urlencoded":
            return self._token_error("invalid_request", "POST a form (application/x-www-form-urlencoded)")
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        assertion = fields.get("client_assertion", "")
        names = ("client_assertion", "client_assertion_type", "grant_type", "scope")
        missing = [name for name in names if not fields.get(name)]
        if missing:
            return self._token_error("invalid_request", f"missing {', '.join(missing)}")
        if fields["client_assertion_type"] != CLIENT_ASSERTION_TYPE or fields["grant_type"] != "client_credentials":
            return self._token_error("unsupported_grant_type", "client_credentials with a jwt-bearer assertion")
        try:
            sub = jwt.decode(assertion, options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError:
            return self._token_error("invalid_request", "client_assertion is not a JWT")
        if not sub:
            return self._token_error("invalid_request", "client_assertion has no sub")
        if sub != self.client_id:
            return self._token_error("invalid_client", f"no tool with client id {sub!r}")
        try:
            await self._verify_tool_jwt(assertion, audience=self.token_url, required=["iss", "sub", "exp", "jti"])
        except _Refused as refusal:
            return self._token_error("invalid_client", str(refusal))
        granted = [scope for scope in fields["scope"].split(" ") if scope in SCOPES]  # Moodle grants what it can
        if not granted:
            return self._token_error("invalid_scope", "none of the scopes asked is offered to the tool")
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = (frozenset(granted), time.time() + TOKEN_LIFE)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFE, "scope": " ".join(granted)}
        )

    @staticmethod
    def _token_error(error: str, description: str) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=400)

    def _token_grants(self, request: Request, scopes: Iterable[str]) -> bool:
        """Whether the request's Bearer token is live and holds one of `scopes` (Moodle's check_tool)."""
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer":
            return False
        with self._lock:
            grant = self._tokens.get(token.strip())
        if grant is None:
            return False
        granted, expiry = grant
        return time.time() < expiry and not granted.isdisjoint(scopes)

    # -- endpoints: services.php (AGS and NRPS) --------------------------------------------------------------

    async def _services(self, request: Request) -> Response:
        if self.down:
            return _text(503, "Service Unavailable")
        path = "/" + request.path_params["rest"]
        method = request.method
        accept = request.headers.get("accept", "")
        content_type = request.headers.get("content-type", "")
        # Moodle's dispatcher: a resource serves a GET whose Accept is empty, has */* or is one of its formats
        # exactly, and a POST or PUT whose Content-Type is one of its formats exactly; no resource is a 400
        for resource in _RESOURCES:
            if method == "GET" and accept and "*/*" not in accept and accept not in resource.formats:
                continue
            if method in ("POST", "PUT") and content_type not in resource.formats:
                continue
            match = resource.pattern.fullmatch(path)
            if match is not None:
                break
        else:
            return _text(400, f"no service for {method} {path} with Accept {accept!r}, Content-Type {content_type!r}")
        if method not in resource.methods:
            return _text(405, f"{method} is not allowed on {resource.name}")
        handlers: dict[str, Callable[[Request, dict[str, str]], Awaitable[Response]]] = {
            "lineitem": self._lineitem,
            "lineitems": self._lineitems,
            "results": self._results,
            "scores": self._scores,
            "memberships": self._memberships,
        }
        return await handlers[resource.name](request, match.groupdict())

    def _item_url(self, number: int) -> str:
        return f"{self.lineitems_endpoint}/{number}/lineitem?type_id={self.type_id}"

    def _item(self, parts: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        number = _int_param(parts["item"])
        item = self._items.get(number)
        return None if item is None else (number, item)

    async def _json_body(self, request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError as error:
            raise _Refused(f"the body is not JSON: {error}") from error

    def _ags_allowed(self, request: Request, scopes: list[str]) -> bool:
        return request.query_params.get("type_id") == self.type_id and self._token_grants(request, scopes)

    async def _lineitems(self, request: Request, parts: dict[str, str]) -> Response:
        get = request.method == "GET"
        scopes = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY] if get else [SCOPE_LINEITEM]
        if not self._ags_allowed(request, scopes):
            return _text(401, "Unauthorized")
        negotiated = request.headers.get("accept" if get else "content-type", "")
        container = negotiated in ("", LINEITEMS_TYPE)
        if container == (not get):  # Moodle: a GET wants the container type (or none), a POST one line item
            wanted = f"Accept: {LINEITEMS_TYPE} (or none)" if get else f"Content-Type: {LINEITEM_TYPE}"
            return _text(400, f"No context or unsupported content type (Moodle wants {wanted})")
        if parts["course"] != self.course_id:
            return _text(404, f"Not Found: Course {parts['course']} doesn't exist")
        if get:
            return self._list_line_items(request)
        try:
            body = await self._json_body(request)
        except _Refused as refusal:
            return _text(400, str(refusal))
        if not isinstance(body, dict) or "label" not in body or "scoreMaximum" not in body:
            return _text(400, "No label or Score Maximum")
        maximum = _number(body["scoreMaximum"])
        if maximum is None:
            return _text(400, "scoreMaximum is not a number")
        link = body.get("resourceLinkId", body.get("ltiLinkId"))
        if link is not None and str(link) not in self.resource_links:
            return _text(403, f"resource link {link!r} is not an activity of this course for this tool")
        with self._lock:
            number = self._next_item
            self._next_item += 1
            stored: dict[str, Any] = {
                "id": self._item_url(number),
                "label": body["label"],
                "scoreMaximum": maximum,
                "resourceId": body.get("resourceId") or "",
                "tag": body.get("tag") or "",
            }
            if link is not None:
                stored["resourceLinkId"] = str(link)
            for optional in ("startDateTime", "endDateTime"):
                if optional in body:
                    stored[optional] = body[optional]
            self._items[number] = stored
            self.line_items.append(stored)
        return _typed_json({**body, "id": stored["id"]}, LINEITEM_TYPE, 201)  # Moodle echoes what it was sent

    def _list_line_items(self, request: Request) -> Response:
        query = request.query_params
        link = query.get("resource_link_id", query.get("lti_link_id"))
        items = [
            item
            for item in list(self.line_items)
            if (query.get("resource_id") is None or item["resourceId"] == query["resource_id"])
            and (link is None or item.get("resourceLinkId") == link)
            and (query.get("tag") is None or item["tag"] == query["tag"])
        ]
        headers: dict[str, str] = {}
        limit, start = _int_param(query.get("limit")), _int_param(query.get("from"))
        if limit > 0:
            total = len(items)
            items = items[start : start + limit]
            base = {key: value for key, value in query.items() if key in ("resource_id", "resource_link_id", "tag")}

            def page(first: int) -> str:
                params = {**base, "type_id": self.type_id, "limit": limit, "from": first}
                return f"{self.lineitems_endpoint}?{urlencode(params)}"

            links = [f"<{page(0)}>; rel=“first”"]
            if 0 < start < total:
                links.append(f"<{page(max(start - limit, 0))}>; rel=“prev”")
            links.append(f"<{page(start)}>; rel=“canonical”")
            if start + limit <= total - 1:
                links.append(f"<{page(start + limit)}>; rel=“next”")
            links.append(f"<{page(max(total - limit + 1, 0))}>; rel=“last”")
            # Moodle writes these rel values between typographic quotes, which HTTP headers cannot carry as
            # text; they go out UTF-8 encoded, as Moodle's do
            headers["Link"] = ", ".join(links).encode().decode("latin-1")
        return _typed_json(items, LINEITEMS_TYPE, headers=headers)

    async def _lineitem(self, request: Request, parts: dict[str, str]) -> Response:
        get = request.method == "GET"
        if not self._ags_allowed(request, [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY] if get else [SCOPE_LINEITEM]):
            return _text(401, "Unauthorized")
        if parts["course"] != self.course_id:
            return _text(404, f"Not Found: Course {parts['course']} doesn't exist")
        found = self._item(parts)
        if found is None:
            return _text(404, f"Not Found: Grade item {parts['item']} doesn't exist")
        number, item = found
        if get:
            return _typed_json(item, LINEITEM_TYPE)
        if request.method == "DELETE":
            with self._lock:
                del self._items[number]
                self.line_items.remove(item)
            return Response(status_code=204)
        try:
            body = await self._json_body(request)
        except _Refused as refusal:
            return _text(400, str(refusal))
        maximum = _number(body.get("scoreMaximum")) if isinstance(body, dict) else None
        if not isinstance(body, dict) or "label" not in body or maximum is None:
            return _text(400, "No label or Score Maximum")
        link = body.get("resourceLinkId", body.get("ltiLinkId"))
        if link is not None and str(link) not in self.resource_links:
            return _text(403, f"resource link {link!r} is not an activity of this course for this tool")
        with self._lock:
            item.update(label=body["label"], scoreMaximum=maximum, resourceId=body.get("resourceId") or "")
            item["tag"] = body.get("tag") or ""
            if link is not None:
                item["resourceLinkId"] = str(link)
        return _typed_json({**body, "id": item["id"]}, LINEITEM_TYPE)

    async def _scores(self, request: Request, parts: dict[str, str]) -> Response:
        if request.query_params.get("type_id") is None:
            return _text(403, "Forbidden")  # Moodle takes a request without type_id for an LTI 2 one
        if not self._ags_allowed(request, [SCOPE_SCORE]):
            return _text(401, "This resource does not support POST requests.")
        content_type = request.headers.get("content-type", "")
        if content_type != SCORE_TYPE:
            return _text(400, "a score is posted as application/vnd.ims.lis.v1.score+json")
        if parts["course"] != self.course_id:
            return _text(404, f"Not Found: Course {parts['course']} doesn't exist.")
        found = self._item(parts)
        if found is None:
            return _text(404, f"Not Found: Grade item {parts['item']} doesn't exist.")
        _, item = found
        try:
            body = await self._json_body(request)
            self._check_score(body)
        except _Refused as refusal:
            return _text(400, f"Incorrect score received: {refusal}")
        with self._lock:
            self.scores.append({"lineitem": item["id"], "content_type": content_type, "body": body})
        return Response(status_code=200, media_type=SCORE_TYPE)

    def _check_score(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _Refused("not a JSON object")
        for name in ("userId", "timestamp", "activityProgress", "gradingProgress"):
            if name not in body:
                raise _Refused(f"{name} is missing")
        try:
            datetime.fromisoformat(str(body["timestamp"]))
        except ValueError as error:
            raise _Refused(f"timestamp {body['timestamp']!r} is not ISO 8601") from error
        if body["activityProgress"] not in ACTIVITY_PROGRESS:
            raise _Refused(f"activityProgress {body['activityProgress']!r} is not one of {sorted(ACTIVITY_PROGRESS)}")
        if body["gradingProgress"] not in GRADING_PROGRESS:
            raise _Refused(f"gradingProgress {body['gradingProgress']!r} is not one of {sorted(GRADING_PROGRESS)}")
        given = _number(body.get("scoreGiven")) if "scoreGiven" in body else None
        maximum = _number(body.get("scoreMaximum")) if "scoreMaximum" in body else None
        if "scoreGiven" in body and given is None:
            raise _Refused("scoreGiven is not a number")
        if "scoreMaximum" in body and maximum is None:
            raise _Refused("scoreMaximum is not a number")
        if given is not None:
            if maximum is None:
                raise _Refused("scoreGiven without scoreMaximum")
            if not 0 <= given <= maximum:
                raise _Refused(f"scoreGiven {given} is not within 0..scoreMaximum {maximum}")
        user = str(body["userId"])
        if not any(m.sub == user and m.status == "Active" and LEARNER in m.roles for m in self.members):
            raise _Refused(f"user {user} is not a gradable student of course {self.course_id}")

    async def _results(self, request: Request, parts: dict[str, str]) -> Response:
        if not self._ags_allowed(request, [SCOPE_RESULT_READONLY]):
            return _text(401, "Unauthorized")
        if parts["course"] != self.course_id:
            return _text(404, f"Not Found: Course {parts['course']} doesn't exist")
        found = self._item(parts)
        if found is None:
            return _text(404, f"Not Found: Grade item {parts['item']} doesn't exist")
        number, item = found
        wanted = request.query_params.get("user_id")
        latest: dict[str, dict[str, Any]] = {}
        for score in list(self.scores):
            if score["lineitem"] == item["id"]:
                latest[str(score["body"]["userId"])] = score["body"]
        results = []
        for user, body in latest.items():
            if wanted is not None and user != wanted:
                continue
            result: dict[str, Any] = {
                "id": f"{self.lineitems_endpoint}/{number}/lineitem/results?type_id={self.type_id}&user_id={user}",
                "scoreOf": item["id"],
                "userId": user,
                "resultMaximum": item["scoreMaximum"],
            }
            given = _number(body.get("scoreGiven"))
            if given is not None and body.get("gradingProgress") == "FullyGraded":
                result["resultScore"] = given * item["scoreMaximum"] / (_number(body.get("scoreMaximum")) or 1)
            if body.get("comment"):
                result["comment"] = body["comment"]
            results.append(result)
        return _typed_json(results, RESULTS_TYPE)

    async def _memberships(self, request: Request, parts: dict[str, str]) -> Response:
        if request.headers.get("accept", "") == LEGACY_MEMBERSHIPS_TYPE:
            return _text(400, "the LTI 2.0 membership format is not emulated: ask for " + MEMBERSHIPS_TYPE)
        if parts["kind"] != "CourseSection" or parts["course"] != self.course_id or parts["tool"] != self.type_id:
            return _text(404, "Not Found")
        query = request.query_params
        link = query.get("rlid", "")
        if link and link not in self.resource_links:
            return _text(404, "Not Found")
        if not self._token_grants(request, [SCOPE_NRPS]):
            return _text(403, "Forbidden")  # Moodle answers 403, not 401, to a missing or wrong token here
        members = [m for m in list(self.members) if m.status == "Active"]  # suspended enrolments are left out
        role = query.get("role", "")
        if role:
            if not role.startswith(("http://", "https://")):
                role = "http://purl.imsglobal.org/vocab/lis/v2/membership#" + role
            if role == INSTRUCTOR:
                members = [m for m in members if INSTRUCTOR in m.roles]
            elif role == LEARNER:
                members = [m for m in members if INSTRUCTOR not in m.roles]
        limit, start = _int_param(query.get("limit")), _int_param(query.get("from"))
        headers: dict[str, str] = {}
        if limit > 0:
            more = len(members) > start + limit
            members = members[start : start + limit]
            if more:
                following = f"{self.memberships_url}?limit={limit}&from={start + limit}"
                if link:
                    following += f"&rlid={link}"
                headers["Link"] = f'<{following}>; rel="next"'
        container = {
            "id": self.memberships_url,
            "context": {"id": self.course_id, "label": self.course_label, "title": self.course_title},
            "members": [
                {
                    "status": "Active",
                    "roles": list(m.roles),
                    "user_id": m.sub,
                    "lis_person_sourcedid": m.person_sourcedid,
                    "name": m.name,
                    "given_name": m.given_name,
                    "family_name": m.family_name,
                    "email": m.email,
                }
                for m in members
            ],
        }
        return _typed_json(container, MEMBERSHIPS_TYPE, headers=headers)

    # -- endpoints: deep linking -----------------------------------------------------------------------------

    # -- dynamic registration (LTI Dynamic Registration 1.0; Moodle 3.10+: "Register a tool" with its URL) -----

    def registration_start(self, tool_registration_url: str) -> str:
        """The URL Moodle opens when its admin pastes the tool's registration URL: the tool's URL with
        `openid_configuration` and a one-time `registration_token`."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._registration_tokens.add(token)
        query = urlencode({"openid_configuration": self.openid_configuration_url, "registration_token": token})
        separator = "&" if "?" in tool_registration_url else "?"
        return f"{tool_registration_url}{separator}{query}"

    async def _openid_configuration(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "token_endpoint": self.token_url,
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                "jwks_uri": self.jwks_url,
                "authorization_endpoint": self.auth_url,
                "registration_endpoint": self.registration_url,
                "scopes_supported": [*AGS_SCOPES, SCOPE_NRPS, "openid"],
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle",
                    "version": MOODLE_VERSION,
                    "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
                    "variables": [],
                },
            }
        )

    async def _dynamic_registration(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else ""
        with self._lock:
            known = token in self._registration_tokens
            self._registration_tokens.discard(token)
        if not known:
            return _text(401, "registration token missing, unknown or used")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _text(400, "the registration is not JSON")
        tool = body.get("https://purl.imsglobal.org/spec/lti-tool-configuration") if isinstance(body, dict) else None
        needed = ("initiate_login_uri", "redirect_uris", "jwks_uri", "client_name")
        if not isinstance(tool, dict) or any(not body.get(name) for name in needed) or not tool.get("target_link_uri"):
            return _text(400, f"a registration needs {', '.join(needed)} and the tool configuration's target_link_uri")
        if body.get("token_endpoint_auth_method") != "private_key_jwt":
            return _text(400, "token_endpoint_auth_method must be private_key_jwt")
        with self._lock:
            self.registrations.append(body)
            self.login_url = str(body["initiate_login_uri"])
            self.redirect_uris = [str(uri) for uri in body["redirect_uris"]]
            self.tool_jwks_url = str(body["jwks_uri"])
            self.tool_jwks = None
            self.tool_url = str(tool["target_link_uri"])
        answer = {
            **body,
            "client_id": self.client_id,
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {**tool, "deployment_id": self.deployment_id},
        }
        return JSONResponse(answer)

    async def _deep_link_return(self, request: Request) -> Response:
        query = request.query_params
        if query.get("course") != self.course_id or query.get("id") != self.type_id:
            return _text(400, "invalid course or tool id")
        if query.get("sesskey") != self.sesskey:
            return _text(400, "Your session has most likely timed out (sesskey)")
        form = await request.form() if request.method == "POST" else None
        token = form.get("JWT") if form is not None else None
        if not isinstance(token, str) or not token:
            return _text(400, "no JWT posted")
        try:
            payload = await self._verify_tool_jwt(token, audience=self.issuer, required=["iss", "exp", "nonce"])
            items = self._check_deep_link(payload)
        except _Refused as refusal:
            return _text(400, f"deep linking answer refused: {refusal}")
        with self._lock:
            self.deep_links.append(payload)
        titles = "".join(f"<li>{html.escape(str(item.get('title') or '(untitled)'))}</li>" for item in items)
        return _page(self.course_title, f'<h1 id="added">Content added</h1>\n<ul id="items">{titles}</ul>')

    def _check_deep_link(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        expected = {
            CLAIM_MESSAGE_TYPE: "LtiDeepLinkingResponse",
            CLAIM_VERSION: "1.3.0",
            CLAIM_DEPLOYMENT_ID: self.deployment_id,
        }
        for claim, value in expected.items():
            if payload.get(claim) != value:
                raise _Refused(f"{claim} must be {value!r}, not {payload.get(claim)!r}")
        data = payload.get(CLAIM_DL_DATA)
        if not isinstance(data, str) or data not in self._dl_data:
            raise _Refused(f"{CLAIM_DL_DATA} is not the data of a deep-linking request")
        items = payload.get(CLAIM_DL_CONTENT_ITEMS, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _Refused(f"{CLAIM_DL_CONTENT_ITEMS} is not a list of objects")
        for item in items:
            if item.get("type") != "ltiResourceLink":
                raise _Refused(f"content item type {item.get('type')!r} was not asked for (ltiResourceLink only)")
        return items
