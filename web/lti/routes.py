"""LTI 1.3 routes.

For the LMS and the browser: `/lti/jwks` (the tool's public keys), `/lti/login` (OIDC third-party login
initiation), `/lti/launch` (the redirect URI: resource-link and deep-linking launches), `/desk/lti/deep-link` (the
teacher's choice of exam, answered to the LMS as a signed deep-linking response).

For the college (API key with the `admin` scope): register, list, change and disable its platforms, rotate the
tool's keys; with the `sessions` scope: read a linked exam's course roster into its candidates.

A refused launch is a page that says why (in the person's language) and a warning in the log; never the token.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jwt
from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from footprint.ledger.entries import DuplicateRecordError
from footprint.people import Person
from footprint.signins import SESSION_HOURS, SignIn, open_sign_in
from proctor.lti import claims as c
from proctor.lti import keys, registration, registry
from proctor.lti.launch import Launch, LaunchRefused, LoginRequest, begin_login, state_hash, use_state, verify_id_token
from proctor.lti.provision import assign_examiner, exam_link, learner_entry, resolve_link, staff_person
from proctor.lti.registry import Platform, PlatformSpec
from proctor.lti.roster import RosterReport
from proctor.lti.services import ServiceError
from proctor.review.access import Reviewer, visible_exams
from proctor.sessions.errors import InvalidInputError, StateError
from proctor.sessions.tables import ExamRow
from web.auth import AdminKey, SessionsKey
from web.deps import Services, ServicesDep, SettingsDep
from web.desk.auth import COOKIE, COOKIE_PATH, CsrfChecked, DeskDenied
from web.errors import error_response
from web.lti.pages import autopost, deep_link_page, refused_page, registered_page
from web.lti.tool import LtiDep
from web.platform import PlatformDep
from web.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["lti"])
"""The college's side, with the rest of the college API."""
STATE_COOKIE = "lti_state_"
STATE_COOKIE_S = 600
DEEP_LINK_AUDIENCE = "proctor-deep-link"
MAX_FORM_BYTES = 128 * 1024


# -- cookies ------------------------------------------------------------------------------------------------


def third_party_cookies(settings: Settings, request: Request) -> tuple[bool, Any]:
    """(Secure, SameSite) for cookies a framed launch needs: `None; Secure` over HTTPS (and on loopback, which
    browsers treat as secure), and then also `Partitioned` (CHIPS): a browser that blocks third-party cookies still
    keeps one set in the LMS's frame for that frame. On plain HTTP no SameSite attribute (browsers then let a
    fresh cookie ride the LMS's cross-site POST for two minutes — use HTTPS in production)."""
    host = request.url.hostname or ""
    if settings.base_url.startswith("https://") or request.url.scheme == "https" or host in ("localhost", "127.0.0.1"):
        return True, "none"
    return False, None


def set_cookie(
    response: Response, name: str, value: str, *, max_age: int, path: str, secure: bool, same_site: str | None
) -> None:
    """An HttpOnly cookie; `Partitioned` with Secure (Starlette writes that attribute only on Python 3.14+)."""
    parts = [f"{name}={value}", f"Max-Age={max_age}", f"Path={path}", "HttpOnly"]
    if secure:
        parts += ["Secure", "Partitioned"]
    if same_site is not None:
        parts.append(f"SameSite={same_site.capitalize()}")
    response.headers.append("set-cookie", "; ".join(parts))


def state_cookie_name(state: str) -> str:
    return STATE_COOKIE + state_hash(state)[:16]


def set_desk_cookie(response: Response, sign_in: SignIn, settings: Settings, request: Request) -> None:
    secure, same_site = third_party_cookies(settings, request)
    set_cookie(
        response,
        COOKIE,
        sign_in.token,
        max_age=SESSION_HOURS * 3600,
        path=COOKIE_PATH,
        secure=secure,
        same_site=same_site or "lax",
    )


# -- the LMS's side: keyset, login, launch --------------------------------------------------------------------


@router.get("/lti/jwks", tags=["lti"])
def public_keyset(services: ServicesDep) -> JSONResponse:
    """The tool's public keys (JWKS): what the LMS checks the tool's signatures with."""
    with services.sessions() as db:
        document = keys.keyset(db)
    if not document["keys"]:
        with services.writing() as db:
            keys.signing_key(db)  # a first key on first use
            document = keys.keyset(db)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})


async def _form(request: Request) -> dict[str, str]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise LaunchRefused("too_large", "the LMS's request is too large", 413)
    if request.method == "GET":
        return {key: value for key, value in request.query_params.items()}
    form = await request.form(max_files=0, max_fields=100)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _refused(request: Request, exc: LaunchRefused, issuer: str = "") -> HTMLResponse:
    logger.warning("LTI launch refused (%s) from %s: %s", exc.code, issuer or "an unknown issuer", exc.reason)
    return refused_page(request, exc.status, exc.reason)


@router.api_route("/lti/login", methods=["GET", "POST"], include_in_schema=False)
async def initiate_login(request: Request, services: ServicesDep, settings: SettingsDep) -> Response:
    """OIDC third-party login initiation: the tool sends the browser to the platform's authorization URL."""
    fields: dict[str, str] = {}
    try:
        fields = await _form(request)
        login = LoginRequest(
            issuer=fields.get("iss", ""),
            login_hint=fields.get("login_hint", ""),
            target_link_uri=fields.get("target_link_uri", ""),
            lti_message_hint=fields.get("lti_message_hint"),
            client_id=fields.get("client_id"),
            deployment_id=fields.get("lti_deployment_id"),
        )

        def start() -> Any:
            with services.writing() as db:
                return begin_login(db, login, f"{settings.base_url}/lti/launch")

        redirect = await run_in_threadpool(start)
    except LaunchRefused as exc:
        return _refused(request, exc, fields.get("iss", ""))
    response = RedirectResponse(redirect.url, status_code=status.HTTP_302_FOUND)
    secure, same_site = third_party_cookies(settings, request)
    set_cookie(
        response,
        state_cookie_name(redirect.state),
        redirect.state,
        max_age=STATE_COOKIE_S,
        path="/lti/",
        secure=secure,
        same_site=same_site,
    )
    return response


@dataclass(frozen=True)
class Entered:
    """Where a verified launch goes: a page to redirect to, or the deep-linking page; and the desk sign-in."""

    redirect: str | None
    sign_in: SignIn | None
    deep_link: dict[str, Any] | None = None


@router.post("/lti/launch", include_in_schema=False)
async def launch(request: Request, services: ServicesDep, settings: SettingsDep, lti: LtiDep) -> Response:
    """The redirect URI: the platform posts the id_token and state; the person goes on to their page."""
    issuer = ""
    fields: dict[str, str] = {}
    try:
        fields = await _form(request)
        state = fields.get("state", "")
        browser_state = request.cookies.get(state_cookie_name(state)) if state else None
        if "error" in fields:
            raise LaunchRefused("platform_error", f"the LMS answered the login with {fields['error']!r}")

        def spend() -> tuple[Platform, str]:
            with services.writing() as db:  # the state is spent even when the token then fails a check
                return use_state(db, state, browser_state)

        platform, nonce = await run_in_threadpool(spend)
        issuer = platform.issuer
        verified = await run_in_threadpool(verify_id_token, fields.get("id_token", ""), platform, nonce, lti.keysets)
        entered = await run_in_threadpool(_enter, services, settings, verified)
    except LaunchRefused as exc:
        return _refused(request, exc, issuer)
    if entered.deep_link is not None and entered.sign_in is not None:
        response: Response = deep_link_page(request, entered.sign_in, entered.deep_link, settings.time_zone)
    else:
        response = RedirectResponse(entered.redirect or "/", status_code=status.HTTP_303_SEE_OTHER)
    if entered.sign_in is not None:
        set_desk_cookie(response, entered.sign_in, settings, request)
    secure, same_site = third_party_cookies(settings, request)
    name = state_cookie_name(fields.get("state", ""))
    set_cookie(response, name, "", max_age=0, path="/lti/", secure=secure, same_site=same_site)  # spent
    logger.info("LTI launch (%s) from %s", verified.message_type, issuer)
    return response


def _language(launch: Launch) -> str:
    code = launch.locale.lower().replace("_", "-").split("-")[0]
    return code if code in ("kk", "ru", "en") else ""


def _enter(services: Services, settings: Settings, launch: Launch) -> Entered:
    if launch.access == c.Access.NONE:
        raise LaunchRefused("role", "your role in this course gives no access to proctored exams", 403)
    language = _language(launch)
    suffix = f"?lang={language}" if language else ""
    with services.writing() as db:
        if launch.message_type == c.DEEP_LINKING_REQUEST:
            if launch.access != c.Access.STAFF:
                raise LaunchRefused("role", "only the course's teachers add proctored exams", 403)
            person = staff_person(db, launch)
            sign_in = open_sign_in(db, person)
            return Entered(None, sign_in, _deep_link_context(db, launch, person))
        link, exam = resolve_link(db, launch)
        if launch.access == c.Access.STAFF:
            person = staff_person(db, launch)
            assign_examiner(db, person, exam.id)
            return Entered(f"/desk/exams/{exam.id}{suffix}", open_sign_in(db, person))
        entry = learner_entry(db, launch, link, exam)
    logger.info("LTI learner launch: session %s of exam %s", entry.session_id, entry.exam_id)
    return Entered(f"/join/{entry.token}{suffix}", None)


def _deep_link_context(db: Session, launch: Launch, person: Person) -> dict[str, Any]:
    settings_claim = launch.deep_linking
    now = int(datetime.now(UTC).timestamp())
    context = {
        "aud": DEEP_LINK_AUDIENCE,
        "platform": launch.platform.id,
        "user": person.id,
        "deployment": launch.deployment_id,
        "return": str(settings_claim.get("deep_link_return_url")),
        "data": settings_claim.get("data"),
        "iat": now,
        "exp": now + 3600,
    }
    reviewer = Reviewer.of(person)
    exams = db.scalars(visible_exams(reviewer).order_by(ExamRow.created_at.desc()).limit(200)).all()
    return {
        "context": keys.signing_key(db).sign(context),
        "exams": [{"id": exam.id, "title": exam.title, "attestation": exam.attestation} for exam in exams],
        "title": str(settings_claim.get("title") or ""),
    }


# -- the teacher's choice (deep linking) ------------------------------------------------------------------------


@router.post("/desk/lti/deep-link", include_in_schema=False)
def deep_link_answer(
    request: Request,
    services: ServicesDep,
    platform_service: PlatformDep,
    settings: SettingsDep,
    user: CsrfChecked,
    context: Annotated[str, Form(max_length=8000)],
    exam: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=300)] = "",
    attestation: Annotated[str, Form(max_length=16)] = "final",
    opens_at: Annotated[str, Form(max_length=40)] = "",
    closes_at: Annotated[str, Form(max_length=40)] = "",
    duration_min: Annotated[str, Form(max_length=6)] = "",
    content_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Bind the chosen (or new) exam to a resource link and answer the LMS with it, signed."""
    try:
        with services.sessions() as db:
            claims = keys.verify(db, context, DEEP_LINK_AUDIENCE)
    except jwt.PyJWTError as exc:
        raise DeskDenied(403, "this exam choice is out of date: add the exam again from the LMS") from exc
    if claims.get("user") != user.person.id:
        raise DeskDenied(403, "this exam choice was opened by someone else")
    college = user.person.college_id
    if exam == "new":
        try:
            zone = ZoneInfo(settings.time_zone)
            opens, closes = _when(opens_at, zone), _when(closes_at, zone)
            minutes = int(duration_min) if duration_min.strip() else None
            if minutes is not None and not 1 <= minutes <= 1440:
                raise ValueError("the duration is 1–1440 minutes")
            if content_url.strip() and not content_url.strip().startswith(("https://", "http://")):
                raise ValueError("the quiz's address must start with https://")
        except ValueError as exc:
            raise InvalidInputError(f"a date or the duration is not valid ({exc})") from exc
        if not title.strip():
            raise InvalidInputError("a new exam needs a title")
        row = platform_service.service.create_exam(
            college,
            title.strip(),
            attestation,
            None,
            opens,
            closes,
            duration_min=minutes,
            content_url=content_url.strip() or None,
        )
        exam_id, exam_title = row.id, row.title
    else:
        with services.sessions() as db:
            chosen = db.scalar(visible_exams(Reviewer.of(user.person)).where(ExamRow.id == exam))
            if chosen is None:
                raise DeskDenied(404, "no such exam among yours")
            exam_id, exam_title = chosen.id, chosen.title
    with services.writing() as db:
        assign_examiner(db, user.person, exam_id)
        platform_row = registry.college_platform(db, college, str(claims["platform"]))
        if not platform_row.enabled:
            raise DeskDenied(403, "this LMS registration is disabled by the college's admin")
        link = exam_link(db, platform_row.id, exam_id)
        now = int(datetime.now(UTC).timestamp())
        answer: dict[str, Any] = {
            "iss": platform_row.client_id,
            "aud": platform_row.issuer,
            "iat": now,
            "exp": now + 300,
            "nonce": secrets.token_urlsafe(16),
            c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE,
            c.VERSION: c.LTI_VERSION,
            c.DEPLOYMENT_ID: claims["deployment"],
            c.DL_CONTENT_ITEMS: [
                {
                    "type": "ltiResourceLink",
                    "title": exam_title,
                    "text": "Proctored exam",
                    "url": f"{settings.base_url}/lti/launch",
                    "custom": {c.EXAM_LINK: link},
                }
            ],
            c.DL_MESSAGE: f"Added the proctored exam “{exam_title}”",
        }
        if claims.get("data") is not None:
            answer[c.DL_DATA] = claims["data"]
        signed = keys.signing_key(db).sign(answer)
    logger.info("LTI deep link: exam %s added to a course of platform %s", exam_id, platform_row.issuer)
    return autopost(request, str(claims["return"]), {"JWT": signed})


def _when(text: str, zone: ZoneInfo) -> datetime | None:
    """A time the teacher typed (the browser's `datetime-local`: the college's time zone, `PROCTOR_TIME_ZONE`)."""
    if not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


# -- the college's registrations (admin key) ------------------------------------------------------------------


class PlatformCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=300, description="What the college calls the LMS.")]
    issuer: Annotated[str, Field(min_length=1, max_length=500, description="Platform ID (Moodle: its site URL).")]
    client_id: Annotated[str, Field(min_length=1, max_length=255, description="The client ID the LMS gave the tool.")]
    deployment_ids: Annotated[list[str], Field(min_length=1, max_length=50, description="Deployment ID(s).")]
    jwks_url: Annotated[str, Field(min_length=1, max_length=2000, description="Public keyset URL of the LMS.")]
    auth_url: Annotated[str, Field(min_length=1, max_length=2000, description="Authentication request URL.")]
    token_url: Annotated[str, Field(min_length=1, max_length=2000, description="Access token URL.")]


class PlatformChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = None
    deployment_ids: Annotated[list[str] | None, Field(min_length=1, max_length=50)] = None


class ToolConfiguration(BaseModel):
    """What the LMS admin pastes into the tool's registration."""

    tool_url: str
    initiate_login_url: str
    redirection_uris: list[str]
    public_keyset_url: str
    deep_linking_url: str


class PlatformPublic(BaseModel):
    id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    jwks_url: str
    auth_url: str
    token_url: str
    created_at: datetime
    disabled: bool
    tool: ToolConfiguration


class RosterPublic(BaseModel):
    exam_id: str
    learners: int
    added: int
    withdrawn: int
    returned: int
    links: int


def tool_configuration(settings: Settings) -> ToolConfiguration:
    base = settings.base_url
    return ToolConfiguration(
        tool_url=f"{base}/lti/launch",
        initiate_login_url=f"{base}/lti/login",
        redirection_uris=[f"{base}/lti/launch"],
        public_keyset_url=f"{base}/lti/jwks",
        deep_linking_url=f"{base}/lti/launch",
    )


def platform_public(platform: Platform, settings: Settings) -> PlatformPublic:
    return PlatformPublic(
        id=platform.id,
        name=platform.name,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_ids=list(platform.deployment_ids),
        jwks_url=platform.jwks_url,
        auth_url=platform.auth_url,
        token_url=platform.token_url,
        created_at=platform.created_at,
        disabled=not platform.enabled,
        tool=tool_configuration(settings),
    )


@api.post("/lti/platforms", status_code=status.HTTP_201_CREATED, response_model=PlatformPublic)
def register_platform(
    body: PlatformCreate, credential: AdminKey, services: ServicesDep, settings: SettingsDep, lti: LtiDep
) -> PlatformPublic:
    """Register an LMS (LTI 1.3 platform) for the college; the answer's `tool` holds what its admin pastes."""
    spec = PlatformSpec(
        body.name, body.issuer, body.client_id, tuple(body.deployment_ids), body.jwks_url, body.auth_url, body.token_url
    )
    with services.writing() as db:
        platform = registry.register(db, credential.college_id, spec)
    lti.frames.refresh(services)
    return platform_public(platform, settings)


@api.get("/lti/platforms", response_model=list[PlatformPublic])
def list_platforms(credential: AdminKey, services: ServicesDep, settings: SettingsDep) -> list[PlatformPublic]:
    """The college's registered LMSs."""
    with services.sessions() as db:
        return [platform_public(p, settings) for p in registry.college_platforms(db, credential.college_id)]


@api.get("/lti/platforms/{platform_id}", response_model=PlatformPublic)
def get_platform(
    platform_id: str, credential: AdminKey, services: ServicesDep, settings: SettingsDep
) -> PlatformPublic:
    """One of the college's registered LMSs."""
    with services.sessions() as db:
        return platform_public(registry.college_platform(db, credential.college_id, platform_id), settings)


@api.patch("/lti/platforms/{platform_id}", response_model=PlatformPublic)
def change_platform(
    platform_id: str,
    body: PlatformChange,
    credential: AdminKey,
    services: ServicesDep,
    settings: SettingsDep,
    lti: LtiDep,
) -> PlatformPublic:
    """Disable or enable a registration (its launches, rosters and grade writes stop), or set its deployment ids."""
    with services.writing() as db:
        platform = registry.college_platform(db, credential.college_id, platform_id)
        if body.deployment_ids is not None:
            platform = registry.update_deployments(db, credential.college_id, platform_id, tuple(body.deployment_ids))
        if body.disabled is not None:
            platform = registry.set_disabled(db, credential.college_id, platform_id, body.disabled)
    lti.frames.refresh(services)
    return platform_public(platform, settings)


class RegistrationLinkPublic(BaseModel):
    url: str = Field(description="What the LMS admin pastes as the tool's registration URL (one LMS, once).")
    expires_at: datetime


@api.post("/lti/registration-links", status_code=status.HTTP_201_CREATED, response_model=RegistrationLinkPublic)
def make_registration_link(
    credential: AdminKey, services: ServicesDep, settings: SettingsDep
) -> RegistrationLinkPublic:
    """A one-time link for LTI Dynamic Registration (Moodle 3.10+: Manage tools → Tool URL → Add LTI Advantage):
    the LMS registers itself for the college, valid 24 hours."""
    with services.writing() as db:
        link = registration.make_link(db, credential.college_id, settings.base_url)
    return RegistrationLinkPublic(url=link.url, expires_at=link.expires_at)


@router.get("/lti/register/{token}", include_in_schema=False)
async def dynamic_registration(
    token: str,
    request: Request,
    services: ServicesDep,
    settings: SettingsDep,
    lti: LtiDep,
    openid_configuration: str = "",
    registration_token: str = "",
) -> Response:
    """The LMS opens the registration link: the tool registers with it and the LMS with the college."""

    def run() -> Platform:
        with services.sessions() as db:
            college_id, link_id = registration.read_link(db, token)
        if not openid_configuration:
            raise LaunchRefused("registration_params", "open this link from the LMS's tool registration screen")
        registered = registration.negotiate(
            lti.outbound, openid_configuration, registration_token or None, settings.base_url, "proctor.kz"
        )
        try:
            with services.writing() as db:
                return registration.record(db, services.ledger, college_id, link_id, registered)
        except (StateError, DuplicateRecordError) as exc:
            raise LaunchRefused("registration_used", f"not registered: {exc}", 409) from exc

    try:
        platform = await run_in_threadpool(run)
    except LaunchRefused as exc:
        return _refused(request, exc)
    lti.frames.refresh(services)
    logger.info(
        "LTI platform %s registered itself (dynamic registration) for college %s", platform.issuer, platform.college_id
    )
    return registered_page(request, platform.name)


class KeyRotated(BaseModel):
    kid: str
    published: list[str]


@api.post("/lti/keys/rotate", response_model=KeyRotated)
def rotate_tool_key(_credential: AdminKey, services: ServicesDep) -> KeyRotated:
    """A new signing key for the tool (every college's LMS fetches it from `/lti/jwks`); the old one stays published
    for a week so what it signed still verifies."""
    with services.writing() as db:
        key = keys.rotate(db)
        published = [k.kid for k in keys.published(db)]
    logger.info("LTI tool key rotated: %s signs now", key.kid)
    return KeyRotated(kid=key.kid, published=published)


@api.post(
    "/exams/{exam_id}/roster",
    response_model=RosterPublic,
    responses={502: {"description": "An LMS's roster could not be read (nothing changed)."}},
)
def sync_roster(exam_id: str, credential: SessionsKey, lti: LtiDep) -> RosterPublic | JSONResponse:
    """Read the course roster of every LMS activity linked to the exam into its candidates (NRPS); learners no
    longer listed are marked withdrawn. 502 when an LMS cannot be read (nothing changes then)."""
    try:
        report: RosterReport = lti.roster.sync(credential.college_id, exam_id)
    except ServiceError as exc:
        return error_response(502, "lms_unavailable", str(exc))
    return RosterPublic(**report.__dict__)
