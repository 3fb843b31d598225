"""`/help`: the guides of docs/ rendered by the platform — the index, tables, links between guides, pictures,
refused paths, and HTML in a guide escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from web import help
from web.app import create_app
from web.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module (help reads no database; SQLite keeps the start cheap)."""
    folder = tmp_path_factory.mktemp("help")
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'platform.db'}", checkpoint_interval_s=3600)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def guide_names() -> list[str]:
    return sorted(path.relative_to(help.DOCS).with_suffix("").as_posix() for path in help.DOCS.rglob("*.md"))


def test_the_index_lists_every_guide(client: TestClient) -> None:
    answer = client.get("/help")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    listed = set(re.findall(r'<a href="/help/([^"]+)"[^>]*data-guide=', answer.text))
    assert listed == set(guide_names())
    for needed in ("operator", "integrator", "examiner", "security-privacy", "benchmarks", "candidate/kk"):
        assert needed in listed
    assert '<link rel="stylesheet" href="/assets/help/help.css">' in answer.text


def test_a_guide_renders_its_tables_and_links_without_inline_script(client: TestClient) -> None:
    answer = client.get("/help/operator")
    assert answer.status_code == 200
    page = answer.text
    assert "<table>" in page and "<td><code>PROCTOR_DATA_DIR</code></td>" in page
    assert 'href="/help/operations"' in page  # a link between guides, rewritten
    assert 'id="settings"' in page  # headings carry their anchors
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline'; worker" not in policy
    assert "<script" not in page
    assert client.get("/help/operator.md").text == page


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_candidate_help_is_in_its_language(client: TestClient, language: str) -> None:
    answer = client.get(f"/help/candidate/{language}")
    assert answer.status_code == 200
    assert f'<html lang="{language}">' in answer.text
    chosen = client.get("/help/candidate", headers={"Accept-Language": f"{language};q=0.9"}, follow_redirects=False)
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/help/candidate/{language}"
    switched = client.get(f"/help/candidate/kk?lang={language}", follow_redirects=False)
    assert switched.headers["location"] == f"/help/candidate/{language}"


def test_pictures_of_the_guides_are_served(client: TestClient) -> None:
    answer = client.get("/help/screenshots/desk-exam-ru.png")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "path",
    [
        "/help/..%2FREADME",
        "/help/..%2F..%2Fetc%2Fpasswd",
        "/help/candidate/..%2F..%2Fpyproject",
        "/help/%2E%2E/README.md",
        "/help/candidate%2F..%2F..%2FREADME",
        "/help/.hidden",
        "/help/..%5CREADME",
        "/help/no-such-guide",
        "/help/operator.txt",
        "/help/web/app.py",
        "/help/%2Fetc%2Fpasswd",
    ],
)
def test_paths_outside_the_guides_are_404(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "proctor" not in answer.text.split("<main", 1)[1].lower().split("</main>")[0]  # nothing of a file


def test_a_link_out_of_docs_is_refused_even_through_a_symlink(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "secret.md").write_text("# secret\n")
    (docs / "leak.md").symlink_to(tmp_path / "secret.md")
    monkeypatch.setattr(help, "DOCS", docs)
    assert client.get("/help/leak").status_code == 404


def test_html_in_a_guide_is_escaped(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "evil.md").write_text(
        '# Evil\n\n<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n| a |\n|---|\n| <b>b</b> |\n\n'
        "[click](javascript:alert(1))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(help, "DOCS", docs)
    answer = client.get("/help/evil")
    assert answer.status_code == 200
    assert "<script>alert" not in answer.text and "&lt;script&gt;alert" in answer.text
    assert "<img src=x" not in answer.text and "<b>b</b>" not in answer.text
    assert 'href="javascript:' not in answer.text


def test_every_link_between_guides_leads_somewhere(client: TestClient) -> None:
    """Each `/help/…` link and picture of every guide answers 200, and its #anchor is a heading there."""
    anchors: dict[str, set[str]] = {}

    def ids_of(target: str) -> set[str]:
        if target not in anchors:
            answer = client.get(target)
            assert answer.status_code == 200, target
            anchors[target] = set(re.findall(r' id="([^"]+)"', answer.text))
        return anchors[target]

    broken = []
    for name in guide_names():
        page = client.get(f"/help/{name}").text
        for link in re.findall(r'(?:href|src)="(/help/[^"]*)"', page):
            target, _, fragment = link.partition("#")
            try:
                ids = ids_of(target)
            except AssertionError:
                broken.append(f"{name}: {link}")
                continue
            if fragment and not target.endswith(tuple(help.PICTURES)) and fragment not in ids:
                broken.append(f"{name}: {link} (no such heading)")
    assert not broken, broken
