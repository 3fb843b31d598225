"""What a browser does between an LMS (the emulator) and the tool (the app under a TestClient): the OIDC login,
the platform's auto-posted form, the launch; forms read from the pages as a browser reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.lti.platform import Member, PlatformEmulator

BASE = "http://testserver"


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", "")))
        elif tag in ("input", "button") and self.forms and values.get("name"):
            kind = values.get("type", "text")
            if kind not in ("radio", "checkbox") or "checked" in values:
                self.forms[-1].fields[values["name"]] = values.get("value", "")


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def login(client: TestClient, lms: PlatformEmulator, member: Member, **launch: Any) -> httpx.Response:
    """The LMS's login initiation posted to the tool: the answer sends the browser to the LMS."""
    params = lms.login_params(member, target_link_uri=f"{BASE}/lti/launch", **launch)
    return client.post("/lti/login", data=params, follow_redirects=False)


def platform_answer(start: httpx.Response) -> Form:
    """The LMS's authorization page: the form it auto-posts to the tool (id_token and state)."""
    assert start.status_code == 302, start.text
    page = httpx.get(start.headers["location"], timeout=10)
    assert page.status_code == 200, page.text
    return forms(page.text)[0]


def launch(client: TestClient, lms: PlatformEmulator, member: Member, **options: Any) -> httpx.Response:
    """A whole launch as a browser makes it; the tool's answer to the posted id_token (not followed)."""
    answer = platform_answer(login(client, lms, member, **options))
    assert answer.action == f"{BASE}/lti/launch"
    return client.post("/lti/launch", data=answer.fields, follow_redirects=False)
