"""`/help`: the guides of `docs/` rendered to HTML by the platform itself, so they read offline (no CDN, no script).

Markdown is CommonMark with tables (markdown-it-py); HTML written in a guide is escaped, never passed through.
Links between guides (`operator.md`, `candidate/kk.md#…`) become `/help/…` links and pictures under `docs/` are
served beside them; nothing outside `docs/` is ever read (a path that leaves it, or names no guide, is 404).
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from web.desk.render import DESK_POLICY
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, catalog, choose_language
from web.pages.student import environment

DOCS = Path(__file__).resolve().parents[1] / "docs"
"""The guides, beside the package in the checkout (`make` installs the project in place)."""
PICTURES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
ORDER = (
    "operator",
    "operations",
    "integrator",
    "lti",
    "lti-claims",
    "live",
    "analysis",
    "examiner",
    "footprint",
    "candidate/kk",
    "candidate/ru",
    "candidate/en",
    "security-privacy",
    "benchmarks",
)
"""The index's order; guides not named here follow in alphabetical order."""
SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HEADERS = {"Content-Security-Policy": DESK_POLICY, "Cache-Control": "no-cache"}

router = APIRouter(tags=["help"])


@dataclass(frozen=True)
class Guide:
    """One guide: its name under `/help/` (`operator`, `candidate/kk`) and its first heading."""

    name: str
    title: str
    language: str


def slug(text: str, seen: dict[str, int]) -> str:
    """A heading's anchor as GitHub makes it (lower case, punctuation dropped, spaces to hyphens), unique per page."""
    base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


def help_target(href: str, here: str) -> str:
    """A link of the guide `here` (`candidate/kk`) as the help pages serve it: a relative link to a guide or a
    picture under `docs/` becomes `/help/…`; anything else (another site, an anchor, outside `docs/`) stays."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("/", "#")) or not parts.path:
        return href
    target = posixpath.normpath(posixpath.join(posixpath.dirname(here), parts.path))
    if target.startswith(".."):
        return "/help" if target == "../README.md" else href
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    if target.endswith(".md"):
        return f"/help/{target[:-3]}{fragment}"
    return f"/help/{target}{fragment}"


def _rewrite(state: StateCore) -> None:
    """Core rule: anchors on headings, and the guides' links and pictures pointed at `/help/`."""
    here = str(state.env.get("guide", ""))
    seen: dict[str, int] = {}
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            token.attrSet("id", slug(tokens[index + 1].content, seen))
        for child in token.children or []:
            if child.type == "link_open":
                child.attrSet("href", help_target(str(child.attrGet("href") or ""), here))
            elif child.type == "image":
                child.attrSet("src", help_target(str(child.attrGet("src") or ""), here))


@functools.cache
def markdown() -> MarkdownIt:
    """CommonMark with tables; `html: False` escapes any HTML a guide holds."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.core.ruler.push("help_links", _rewrite)
    return parser


def render_markdown(text: str, guide: str) -> str:
    """A guide's Markdown as HTML, its links rewritten for `/help/`."""
    return str(markdown().render(text, {"guide": guide}))


def guide_language(name: str) -> str:
    """Candidate help is written in each language (`candidate/kk`); the other guides are in English."""
    last = name.rsplit("/", 1)[-1]
    return last if name.startswith("candidate/") and last in LANGUAGES else "en"


def title_of(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    return path.stem


def guides() -> list[Guide]:
    """Every guide under `docs/`, in the index's order."""
    found = {path.relative_to(DOCS).with_suffix("").as_posix(): path for path in DOCS.rglob("*.md")}
    rank = {name: place for place, name in enumerate(ORDER)}
    names = sorted(found, key=lambda name: (rank.get(name, len(ORDER)), name))
    return [Guide(name, title_of(found[name]), guide_language(name)) for name in names]


def docs_file(path: str) -> Path | None:
    """The file under `docs/` that `path` names (a guide without `.md`, or a picture), or None: parts must be
    plain names (no `..`, no hidden files, no backslashes) and the resolved file must lie inside `docs/`."""
    parts = path.split("/")
    if not path or not all(SAFE_PART.match(part) for part in parts):
        return None
    root = DOCS.resolve()
    name = path[:-3] if path.endswith(".md") else path
    candidate = root / f"{name}.md" if Path(name).suffix.lower() not in PICTURES else root / name
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def page(request: Request, template: str, language: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
    texts = catalog(language)
    html = environment.get_template(template).render(
        lang=language, t=texts.text, languages=LANGUAGE_NAMES, path=request.url.path, **values
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def not_found(request: Request) -> HTMLResponse:
    return page(request, "help/missing.html", "en", {}, status=404)


@router.get("/help", response_class=HTMLResponse, include_in_schema=False)
def help_index(request: Request) -> HTMLResponse:
    """The list of guides."""
    return page(request, "help/index.html", "en", {"guides": guides()})


@router.get("/help/{path:path}", include_in_schema=False)
def help_page(path: str, request: Request) -> Response:
    """One guide rendered, or a picture the guides show; `/help/candidate` picks the candidate's language."""
    asked = request.query_params.get("lang")
    if path.rstrip("/") == "candidate" or (path.startswith("candidate/") and asked in LANGUAGES):
        language = choose_language(asked, request.headers.get("accept-language"))
        return RedirectResponse(f"/help/candidate/{language}", status_code=303)
    found = docs_file(path)
    if found is None:
        return not_found(request)
    if found.suffix.lower() in PICTURES:
        return FileResponse(found, media_type=PICTURES[found.suffix.lower()], headers={"Cache-Control": "no-cache"})
    name = found.relative_to(DOCS.resolve()).with_suffix("").as_posix()
    language = guide_language(name)
    body = render_markdown(found.read_text(encoding="utf-8"), f"{name}.md")
    return page(request, "help/guide.html", language, {"title": title_of(found), "body": body, "name": name})
