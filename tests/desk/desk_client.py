"""Signing in to the desk as a browser does (the login form's token, then the cookie), for the tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.desk.world import PASSWORD

HTML = {"Accept": "text/html"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def login_token(client: TestClient) -> str:
    page = client.get("/desk/login", headers=HTML)
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign `client` in; returns the CSRF token its pages carry."""
    answer = client.post(
        "/desk/login",
        data={"email": email, "password": password, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/desk", headers=HTML)
    assert home.status_code == 200
    found = TOKEN.search(home.text)
    assert found is not None
    return found.group(1)
