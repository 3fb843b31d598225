"""The Moodle stand-in (tests/lti/platform.py) does what Moodle 4.x does, over real HTTP, before any tool test
relies on it: its keys verify its id_tokens, auth.php answers the auto-posted form, token.php trusts the tool's
key only, the roster pages, the gradebook wants the exact score media type, an LMS that is down answers 503."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.lti.platform import (
    CLAIM_AGS_ENDPOINT,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_DL_CONTENT_ITEMS,
    CLAIM_DL_DATA,
    CLAIM_DL_SETTINGS,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_TARGET_LINK_URI,
    CLAIM_TOOL_PLATFORM,
    CLAIM_VERSION,
    CLIENT_ASSERTION_TYPE,
    INSTRUCTOR,
    LEARNER,
    LINEITEM_TYPE,
    LINEITEMS_TYPE,
    MEMBERSHIPS_TYPE,
    SCOPE_LINEITEM,
    SCOPE_NRPS,
    SCOPE_SCORE,
    SCORE_TYPE,
    TEACHING_ASSISTANT,
    Member,
    PlatformEmulator,
)

TOOL = "http://tool.test"
LAUNCH = f"{TOOL}/lti/launch"
TOOL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
TOOL_JWK = RSAAlgorithm.to_jwk(TOOL_KEY.public_key(), as_dict=True)
TOOL_JWKS = {"keys": [{"kty": "RSA", "n": TOOL_JWK["n"], "e": TOOL_JWK["e"], "kid": "tool-1", "alg": "RS256"}]}
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

ANN = Member("5", "Ann", "Lee", "ann@college.kz", [LEARNER], person_sourcedid="040101500011")
TEACHER = Member("2", "Aigul", "Sadykova", "aigul@college.kz", [INSTRUCTOR])


@pytest.fixture
def lms() -> Iterator[PlatformEmulator]:
    with PlatformEmulator() as emulator:
        emulator.configure_tool(login_url=f"{TOOL}/lti/login", redirect_uris=[LAUNCH], jwks=TOOL_JWKS)
        yield emulator


@dataclass
class Page:
    forms: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    iframes: list[dict[str, str]] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.page.forms.append((values["action"], {}))
        elif tag == "input" and self.page.forms:
            self.page.forms[-1][1][values["name"]] = values["value"]
        elif tag == "iframe":
            self.page.iframes.append(values)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return reader.page


def tool_jwt(claims: dict[str, Any], key: rsa.RSAPrivateKey = TOOL_KEY, kid: str = "tool-1") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def assertion(lms: PlatformEmulator, **change: Any) -> str:
    now = int(time.time())
    claims = {"iss": lms.client_id, "sub": lms.client_id, "aud": lms.token_url, "iat": now, "exp": now + 300}
    return tool_jwt({**claims, "jti": uuid.uuid4().hex, **change})


def ask_token(lms: PlatformEmulator, scope: str, client_assertion: str | None = None, **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion or assertion(lms),
        "scope": scope,
        **form,
    }
    return httpx.post(lms.token_url, data=data, timeout=10)


def bearer(lms: PlatformEmulator, *scopes: str) -> dict[str, str]:
    answer = ask_token(lms, " ".join(scopes))
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def oidc(params: dict[str, str], **change: str) -> dict[str, str]:
    """The tool's OIDC authentication request answering the LMS's login initiation `params`."""
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": params["client_id"],
        "redirect_uri": LAUNCH,
        "login_hint": params["login_hint"],
        "lti_message_hint": params["lti_message_hint"],
        "nonce": "nonce-42",
        "state": "state-7",
        **change,
    }


def authorize(lms: PlatformEmulator, params: dict[str, str], **change: str) -> httpx.Response:
    """The OIDC authentication request as the browser brings it to auth.php (a redirect: GET)."""
    return httpx.get(lms.auth_url, params=oidc(params, **change), timeout=10)


def verified(lms: PlatformEmulator, id_token: str) -> dict[str, Any]:
    """An id_token checked as a tool checks it: against the JWKS the platform publishes."""
    keys = jwt.PyJWKSet.from_dict(httpx.get(lms.jwks_url, timeout=10).json())
    kid = jwt.get_unverified_header(id_token)["kid"]
    return jwt.decode(id_token, keys[kid], algorithms=["RS256"], audience=lms.client_id, issuer=lms.issuer)


def test_the_jwks_verifies_an_id_token_with_moodles_claims(lms: PlatformEmulator) -> None:
    (key,) = httpx.get(lms.jwks_url, timeout=10).json()["keys"]
    assert sorted(key) == ["alg", "e", "kid", "kty", "n", "use"]
    assert (key["kty"], key["alg"], key["use"], key["e"], key["kid"]) == ("RSA", "RS256", "sig", "AQAB", lms.kid)
    token = lms.sign(lms.claims(ANN, nonce="n-1", custom={"exam_link": "abc"}, target_link_uri=LAUNCH))
    claims = verified(lms, token)
    assert claims["aud"] == "tool-a" and claims["exp"] - claims["iat"] == 60 and claims["nonce"] == "n-1"
    assert claims["sub"] == "5" and claims["name"] == "Ann Lee" and claims[CLAIM_ROLES] == [LEARNER]
    assert claims[CLAIM_MESSAGE_TYPE] == "LtiResourceLinkRequest" and claims[CLAIM_VERSION] == "1.3.0"
    assert claims[CLAIM_DEPLOYMENT_ID] == "1" and claims[CLAIM_CUSTOM] == {"exam_link": "abc"}
    assert claims[CLAIM_RESOURCE_LINK] == {"title": "Final exam (proctored)", "description": "", "id": "17"}
    assert claims[CLAIM_CONTEXT] == {"id": "2", "label": "PHY101", "title": "Physics 101", "type": ["CourseSection"]}
    assert claims[CLAIM_TOOL_PLATFORM]["product_family_code"] == "moodle"
    assert claims[CLAIM_LAUNCH_PRESENTATION]["document_target"] == "iframe"
    assert claims[CLAIM_AGS_ENDPOINT]["lineitems"] == f"{lms.issuer}/mod/lti/services.php/2/lineitems?type_id=3"
    assert "lineitem" not in claims[CLAIM_AGS_ENDPOINT]
    assert claims[CLAIM_NRPS]["context_memberships_url"].endswith("/CourseSection/2/bindings/3/memberships")
    # no custom parameters: no custom claim, as Moodle; a deep-linking request has settings, no resource link
    request = verified(lms, lms.sign(lms.claims(TEACHER, message="deeplink", nonce="n-2")))
    assert CLAIM_CUSTOM not in request and CLAIM_RESOURCE_LINK not in request
    settings = request[CLAIM_DL_SETTINGS]
    assert settings["accept_types"] == ["ltiResourceLink"] and settings["accept_multiple"] is True
    assert settings["deep_link_return_url"] == lms.deep_link_return_url and settings["data"]
    assert request[CLAIM_TARGET_LINK_URI] == LAUNCH  # the Tool URL: the first redirection URI
    # a new key: the old one leaves the JWKS, and what it signed no longer verifies
    lms.rotate_key()
    with pytest.raises(KeyError):
        verified(lms, token)


def test_auth_answers_the_auto_posted_form_with_the_nonce_asked(lms: PlatformEmulator) -> None:
    params = lms.login_params(ANN, target_link_uri=LAUNCH, custom={"exam_link": "abc"})
    names = {"iss", "target_link_uri", "login_hint", "lti_message_hint", "client_id", "lti_deployment_id"}
    assert params.keys() == names
    assert params["iss"] == lms.issuer and params["login_hint"] == "5" and params["lti_deployment_id"] == "1"
    refused = authorize(lms, params, redirect_uri=f"{TOOL}/elsewhere")
    assert refused.status_code == 400 and "redirect_uri" in refused.text
    assert authorize(lms, params, prompt="login").status_code == 400
    assert authorize(lms, params, login_hint="6").status_code == 400
    page = authorize(lms, params)
    assert page.status_code == 200 and "document.forms[0].submit()" in page.text
    ((action, fields),) = read(page.text).forms
    assert action == LAUNCH and fields.keys() == {"id_token", "state"} and fields["state"] == "state-7"
    claims = verified(lms, fields["id_token"])
    assert claims["nonce"] == "nonce-42" and claims[CLAIM_CUSTOM] == {"exam_link": "abc"} and claims["sub"] == "5"
    again = authorize(lms, params)  # Moodle forgets the hint once used
    assert again.status_code == 400 and "lti_message_hint" in again.text
    posted = httpx.post(lms.auth_url, data=oidc(lms.login_params(ANN)), timeout=10)  # a form_post works too
    assert posted.status_code == 200 and read(posted.text).forms[0][0] == LAUNCH
    assert any(request.startswith("GET /mod/lti/auth.php?scope=openid&") for request in lms.requests)


def test_the_token_endpoint_trusts_the_tools_key_for_its_own_url_only(lms: PlatformEmulator) -> None:
    answer = ask_token(lms, f"{SCOPE_SCORE} {SCOPE_NRPS} https://example.org/scope/unknown")
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["access_token"]
    assert token["scope"] == f"{SCOPE_SCORE} {SCOPE_NRPS}"  # Moodle grants what it offers of what was asked

    def error(answer: httpx.Response) -> str:
        assert answer.status_code == 400, answer.text
        return str(answer.json()["error"])

    assert error(ask_token(lms, SCOPE_SCORE, assertion(lms, aud=f"{lms.issuer}/other"))) == "invalid_client"
    assert ask_token(lms, SCOPE_SCORE, assertion(lms, aud=[lms.token_url, "x"])).status_code == 200
    assert error(ask_token(lms, SCOPE_SCORE, assertion(lms, exp=int(time.time()) - 10))) == "invalid_client"
    assert error(ask_token(lms, SCOPE_SCORE, assertion(lms, jti=None))) == "invalid_client"
    stranger = tool_jwt(jwt.decode(assertion(lms), options={"verify_signature": False}), key=STRANGER_KEY)
    assert error(ask_token(lms, SCOPE_SCORE, stranger)) == "invalid_client"
    assert error(ask_token(lms, SCOPE_SCORE, assertion(lms, sub="tool-b", iss="tool-b"))) == "invalid_client"
    assert error(ask_token(lms, SCOPE_SCORE, grant_type="password")) == "unsupported_grant_type"
    assert error(ask_token(lms, "https://example.org/scope/unknown")) == "invalid_scope"
    # the tool's keys from its keyset URL, fetched at each use (here: a keyset that holds the signing key)
    lms.configure_tool(login_url=f"{TOOL}/lti/login", redirect_uris=[LAUNCH], jwks_url=lms.jwks_url)
    now = int(time.time())
    claims = {"iss": "tool-a", "sub": "tool-a", "aud": [lms.token_url], "iat": now, "exp": now + 60, "jti": "j"}
    assert ask_token(lms, SCOPE_SCORE, lms.sign(claims)).status_code == 200


def test_the_roster_pages_with_a_link_to_the_next_page(lms: PlatformEmulator) -> None:
    lms.members = [
        ANN,
        TEACHER,
        Member("6", "Bob", "Kim", "bob@college.kz", [LEARNER]),
        Member("7", "Cem", "Ay", "cem@college.kz", [LEARNER], status="Suspended"),
        Member("8", "Dana", "Nur", "dana@college.kz", [TEACHING_ASSISTANT]),
        Member("9", "Erl", "Ok", "erl@college.kz", [LEARNER], person_sourcedid="990101300022"),
    ]
    headers = {**bearer(lms, SCOPE_NRPS), "Accept": MEMBERSHIPS_TYPE}
    url: str | None = f"{lms.memberships_url}?limit=2"
    pages: list[dict[str, Any]] = []
    while url is not None:
        answer = httpx.get(url, headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"] == MEMBERSHIPS_TYPE
        pages.append(answer.json())
        url = answer.links.get("next", {}).get("url")
        assert url is None or url.startswith(f"{lms.memberships_url}?limit=2&from=")
    assert [len(page["members"]) for page in pages] == [2, 2, 1]
    members = [member for page in pages for member in page["members"]]
    assert [m["user_id"] for m in members] == ["5", "2", "6", "8", "9"]  # the suspended enrolment is left out
    assert members[0] == {
        "status": "Active",
        "roles": [LEARNER],
        "user_id": "5",
        "lis_person_sourcedid": "040101500011",
        "name": "Ann Lee",
        "given_name": "Ann",
        "family_name": "Lee",
        "email": "ann@college.kz",
    }
    assert pages[0]["context"] == {"id": "2", "label": "PHY101", "title": "Physics 101"}
    assert pages[0]["id"] == lms.memberships_url
    teachers = httpx.get(lms.memberships_url, params={"role": "Instructor"}, headers=headers, timeout=10).json()
    assert [m["user_id"] for m in teachers["members"]] == ["2"]
    assert httpx.get(lms.memberships_url, timeout=10).status_code == 403  # no token: Moodle answers 403 here
    assert httpx.get(lms.memberships_url, headers={**headers, "Accept": "application/json"}).status_code == 400


def test_grades_want_the_exact_score_media_type(lms: PlatformEmulator) -> None:
    lms.claims(ANN, nonce="n", target_link_uri=LAUNCH)  # Ann opened activity 17: enrolled, and the link exists
    headers = bearer(lms, SCOPE_LINEITEM, SCOPE_SCORE)
    item = {"label": "Proctoring review", "scoreMaximum": 1, "resourceLinkId": "17", "tag": "proctoring"}
    created = httpx.post(lms.lineitems_url, json=item, headers={**headers, "Content-Type": LINEITEM_TYPE})
    assert created.status_code == 201 and created.headers["content-type"] == LINEITEM_TYPE, created.text
    item_url = created.json()["id"]
    assert item_url == f"{lms.issuer}/mod/lti/services.php/2/lineitems/1/lineitem?type_id=3"
    assert lms.line_items == [
        {"id": item_url, "label": "Proctoring review", "scoreMaximum": 1.0, "resourceId": "", "tag": "proctoring"}
        | {"resourceLinkId": "17"}
    ]
    other_link = {**item, "resourceLinkId": "99"}
    refused_link = httpx.post(lms.lineitems_url, json=other_link, headers={**headers, "Content-Type": LINEITEM_TYPE})
    assert refused_link.status_code == 403
    # the container: Accept exactly its media type (or none); */* is refused, as Moodle does
    listing = {**headers, "Accept": LINEITEMS_TYPE}
    # (httpx's params= would replace the URL's query, type_id with it: Moodle then answers 401)
    found = httpx.get(f"{lms.lineitems_url}&resource_link_id=17", headers=listing, timeout=10)
    assert found.status_code == 200 and [i["id"] for i in found.json()] == [item_url]
    assert httpx.get(lms.lineitems_url, headers={**headers, "Accept": "*/*"}, timeout=10).status_code == 400
    assert httpx.get(item_url, headers=headers, timeout=10).json()["label"] == "Proctoring review"
    scores_url = item_url.replace("/lineitem?", "/lineitem/scores?")
    score = {
        "userId": "5",
        "scoreGiven": 1,
        "scoreMaximum": 1,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-05-04T10:00:00.000+05:00",
        "comment": "confirmed",
    }

    def post(body: dict[str, Any], content_type: str = SCORE_TYPE, auth: dict[str, str] = headers) -> int:
        answer = httpx.post(scores_url, json=body, headers={**auth, "Content-Type": content_type}, timeout=10)
        return answer.status_code

    assert post(score, SCORE_TYPE + "; charset=utf-8") == 400
    assert post(score, "application/json") == 400
    assert lms.scores == []
    assert post(score) == 200
    assert lms.scores == [{"lineitem": item_url, "content_type": SCORE_TYPE, "body": score}]
    assert post({**score, "scoreGiven": 2}) == 400  # above scoreMaximum
    assert post({**score, "userId": "404"}) == 400  # not a student of the course
    assert post({**score, "gradingProgress": "Done"}) == 400
    assert post(score, auth={}) == 401
    assert post(score, auth=bearer(lms, SCOPE_NRPS)) == 401
    unknown = scores_url.replace("/lineitems/1/", "/lineitems/9/")
    assert httpx.post(unknown, json=score, headers={**headers, "Content-Type": SCORE_TYPE}).status_code == 404
    assert len(lms.scores) == 1
    assert "POST /mod/lti/services.php/2/lineitems/1/lineitem/scores?type_id=3" in lms.requests


def test_an_lms_that_is_down_answers_503(lms: PlatformEmulator) -> None:
    headers = bearer(lms, SCOPE_NRPS, SCOPE_LINEITEM)
    lms.down = True
    assert ask_token(lms, SCOPE_NRPS).status_code == 503
    assert httpx.get(lms.memberships_url, headers=headers, timeout=10).status_code == 503
    assert httpx.get(lms.lineitems_url, headers=headers, timeout=10).status_code == 503
    lms.down = False
    assert httpx.get(lms.memberships_url, headers=headers, timeout=10).status_code == 200


def test_a_deep_linking_answer_is_verified_then_added(lms: PlatformEmulator) -> None:
    settings = lms.claims(TEACHER, message="deeplink", nonce="n")[CLAIM_DL_SETTINGS]
    now = int(time.time())
    answer = {
        "iss": lms.client_id,
        "aud": lms.issuer,
        "iat": now,
        "exp": now + 300,
        "nonce": uuid.uuid4().hex,
        CLAIM_MESSAGE_TYPE: "LtiDeepLinkingResponse",
        CLAIM_VERSION: "1.3.0",
        CLAIM_DEPLOYMENT_ID: lms.deployment_id,
        CLAIM_DL_DATA: settings["data"],
        CLAIM_DL_CONTENT_ITEMS: [
            {"type": "ltiResourceLink", "title": "Biology final", "url": LAUNCH, "custom": {"exam_link": "x"}}
        ],
    }

    def post(claims: dict[str, Any], url: str = settings["deep_link_return_url"], **sign: Any) -> httpx.Response:
        return httpx.post(url, data={"JWT": tool_jwt(claims, **sign)}, timeout=10)

    assert post({**answer, CLAIM_DL_DATA: "forged"}).status_code == 400
    assert post({**answer, "aud": lms.client_id}).status_code == 400
    assert post(answer, key=STRANGER_KEY).status_code == 400
    assert post(answer, url=lms.deep_link_return_url.replace(lms.sesskey, "stale")).status_code == 400
    item = {"type": "file", "title": "notes.pdf"}
    assert post({**answer, CLAIM_DL_CONTENT_ITEMS: [item]}).status_code == 400
    assert lms.deep_links == []
    added = post(answer)
    assert added.status_code == 200 and 'id="added"' in added.text and "Biology final" in added.text
    (link,) = lms.deep_links
    assert link[CLAIM_DL_CONTENT_ITEMS][0]["custom"] == {"exam_link": "x"}


def test_course_pages_launch_the_tool_in_a_frame_or_at_top_level(lms: PlatformEmulator) -> None:
    framed = httpx.get(lms.course_url(ANN, custom={"exam_link": "abc"}), timeout=10)
    assert framed.status_code == 200 and "Physics 101" in framed.text
    (frame,) = read(framed.text).iframes
    assert frame["id"] == "tool" and frame["src"].startswith("/mod/lti/launch.php?hint=")
    assert {"camera *", "microphone *", "display-capture *"} <= {p.strip() for p in frame["allow"].split(";")}
    inner = httpx.get(lms.issuer + frame["src"], timeout=10)
    ((action, params),) = read(inner.text).forms
    assert action == f"{TOOL}/lti/login" and "document.forms[0].submit()" in inner.text
    assert params["target_link_uri"] == LAUNCH and params["client_id"] == "tool-a" and params["login_hint"] == "5"
    id_token = read(authorize(lms, params).text).forms[0][1]["id_token"]
    assert verified(lms, id_token)[CLAIM_LAUNCH_PRESENTATION]["document_target"] == "iframe"
    again = read(httpx.get(lms.issuer + frame["src"], timeout=10).text).forms[0][1]  # each opening: a new launch
    assert again["lti_message_hint"] != params["lti_message_hint"]
    top = httpx.get(lms.course_url(ANN, framed=False), timeout=10)
    assert read(top.text).iframes == []
    ((action, params),) = read(top.text).forms
    assert action == f"{TOOL}/lti/login"
    id_token = read(authorize(lms, params).text).forms[0][1]["id_token"]
    assert verified(lms, id_token)[CLAIM_LAUNCH_PRESENTATION]["document_target"] == "window"
