"""The API documentation works on an offline network: every asset comes from the platform itself, and
"Authorize" takes the college's key (the OpenAPI declares the bearer scheme)."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Request

from tests.browser.conftest import LiveServer, screenshot_path


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_api_docs_load_without_any_remote_asset(
    browser: Browser, live_server: LiveServer, path: str, ready: str
) -> None:
    page = browser.new_page()
    left: list[str] = []  # requests that reached the network outside the platform
    blocked: list[str] = []  # requests the page's Content-Security-Policy stopped in the browser

    def finished(request: Request) -> None:
        if _foreign(request.url):
            left.append(request.url)

    def failed(request: Request) -> None:
        if _foreign(request.url):
            (blocked if request.failure == "csp" else left).append(request.url)

    page.on("requestfinished", finished)
    page.on("requestfailed", failed)
    page.goto(live_server.url + path)
    page.wait_for_selector(ready, timeout=20_000)
    assert "proctor.kz platform" in page.inner_text(ready)
    page.screenshot(path=screenshot_path(f"api{path.replace('/', '-')}"), full_page=False)
    assert left == [], left
    assert all(url.startswith("https://cdn.redoc.ly/") for url in blocked), blocked  # ReDoc's own badge
    if path == "/docs":
        assert page.locator("button.authorize").count() == 1
    page.close()


def _foreign(url: str) -> bool:
    return urlparse(url).scheme in ("http", "https") and urlparse(url).hostname != "127.0.0.1"


def test_openapi_declares_how_to_authorise(live_server: LiveServer) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["collegeKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["collegeKey"]["description"],
    }
    assert schemes["xapiBasic"]["scheme"] == "basic"
    security = schema["paths"]["/api/v1/exams"]["post"]["security"]
    assert {"collegeKey": []} in security


def test_try_it_out_with_the_college_key(browser: Browser, live_server: LiveServer) -> None:
    page = browser.new_page()
    page.goto(live_server.url + "/docs")
    page.click("button.authorize")
    page.fill(".auth-container:has-text('collegeKey') input", "browser-test-key-0123456789")
    page.click(".auth-container:has-text('collegeKey') button.authorize")
    page.click("button.btn-done")
    operation = page.locator("#operations-college-list_exams_api_v1_exams_get")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip().startswith("200")  # not 401: the key went with the request
    page.close()
