"""The pages' catalogs: every key a page uses is in every language, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from footprint.people import Role
from proctor.events.event import Severity
from proctor.events.vocabulary import EventType
from proctor.policy import PRESETS
from proctor.review.decisions import ReviewAction
from proctor.sessions.faces import MatchKind
from proctor.sessions.lifecycle import VERDICTS, Status
from web.live.notices import NOTICES
from web.pages.i18n import LANGUAGES, LOCALE_DIR, PLACEHOLDER, MissingMessage, catalog, choose_language
from web.pages.student import STATIC, STEPS, TEMPLATES

DESK = Path(__file__).resolve().parents[2] / "web" / "desk"
AREAS = sorted({key.split(".")[0] for key in catalog("en").messages})
KEY_LITERAL = re.compile(rf"""["']((?:{"|".join(AREAS)})\.[a-z_\-]+(?:\.[a-z_\-]+)*)["']""")
BUILT_IN_TEMPLATES = re.compile(r"""t\(\s*["']([a-z_]+\.)["']\s*~\s*(\w+)\s*\)""")


def desk_keys_built_from_values() -> set[str]:
    """The desk's keys that its templates build from a stored value (`"desk.type." ~ event.type`)."""
    built = {f"desk.type.{t.value}" for t in EventType}
    built |= {f"desk.status.{s.value}" for s in Status}
    built |= {f"desk.analysis.{state}" for state in ("none", "queued", "running", "done", "failed", "live")}
    built |= {f"desk.band.{band}" for band in ("green", "yellow", "red")}
    built |= {f"desk.verdict.{v.value}" for v in VERDICTS}
    built |= {f"desk.role.{role.value}" for role in Role}
    built |= {f"desk.attestation.{name}" for name in PRESETS}
    built |= {f"desk.severity.{severity.value}" for severity in Severity}
    built |= {f"desk.action.{action.value}" for action in ReviewAction}
    built |= {f"desk.identity.{outcome}" for outcome in ("verified", "unverified", "not_checked")}
    built |= {f"desk.recording.{outcome}" for outcome in ("verified", "mismatch", "unverified")}
    built |= {f"desk.denied.title_{status}" for status in (403, 404, 409, 422)}
    built |= {f"desk.strip.{kind}" for kind in ("room_scan", "identity")}
    built |= {f"desk.identity.match_{kind.value}" for kind in MatchKind}
    return built


def keys_used() -> set[str]:
    """Every key-shaped literal in the templates, scripts and page code, and the keys the templates and
    scripts build from known lists (`"check." ~ check`, `` `identity.${state}` ``)."""
    used: set[str] = set()
    sources = [
        *TEMPLATES.rglob("*.html"),
        *STATIC.rglob("*.js"),
        *Path(TEMPLATES.parent).rglob("*.py"),
        *DESK.glob("*.py"),
    ]
    for source in sources:
        text = source.read_text()
        used |= set(KEY_LITERAL.findall(text))
        loops = re.findall(r"{% for (\w+) in \(([^)]*)\) %}", text)
        for prefix, variable in BUILT_IN_TEMPLATES.findall(text):
            for name, values in loops:
                if name == variable:
                    used |= {prefix + v for v in re.findall(r'"([^"]+)"', values)}
    used |= {f"step.{step}" for step in STEPS}
    used |= {f"check.{state}" for state in ("pending", "running", "passed", "failed")}
    used |= {f"identity.{state}" for state in ("verified", "unverified", "not_checked")}
    used |= {
        f"advice.{device}_{why}"
        for device in ("camera", "microphone")
        for why in ("blocked", "missing", "busy", "failed")
    }
    used |= {f"notice.{notice.key}" for notice in NOTICES.values()}
    used |= desk_keys_built_from_values()
    return {key for key in used if not key.endswith((".", "_"))}


def test_every_key_a_page_uses_is_in_every_language() -> None:
    used = keys_used()
    assert len(used) > 120  # the scan of the pages found them (a broken pattern would find none)
    for language in LANGUAGES:
        missing = sorted(used - catalog(language).messages.keys())
        assert not missing, f"{language}.po lacks {missing}"


def test_every_message_is_used_by_a_page() -> None:
    assert not sorted(catalog("en").messages.keys() - keys_used())


def test_the_catalogs_hold_the_same_keys_with_the_same_placeholders_and_no_empty_text() -> None:
    english = catalog("en").messages
    for language in LANGUAGES:
        messages = catalog(language).messages
        assert messages.keys() == english.keys(), f"{language}: {sorted(messages.keys() ^ english.keys())}"
        for key, text in messages.items():
            assert text.strip(), f"{language}: {key} is empty"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (language, key)


def test_kazakh_and_russian_are_translations_not_copies() -> None:
    english = catalog("en").messages
    for language in ("kk", "ru"):
        messages = catalog(language).messages
        same = [k for k, text in messages.items() if text == english[k] and re.search(r"[a-z]{4}", text)]
        assert not same, f"{language} keeps English text for {same}"
        assert re.search("[әғқңөұүһі]", " ".join(catalog("kk").messages.values()))  # Kazakh letters, not only Russian


def test_a_missing_key_is_an_error_never_a_silent_fallback() -> None:
    with pytest.raises(MissingMessage, match="consent.nope"):
        catalog("kk").text("consent.nope")


def test_placeholders_are_filled_and_numbers_formatted_per_locale() -> None:
    assert catalog("en").text("consent.kept", days=catalog("en").number(1095)) == (
        "1,095 days, then the recordings and pictures are deleted."
    )
    assert catalog("ru").number(1095) == "1\xa0095"
    assert catalog("kk").text("identity.mismatch", left=2).endswith("2.")


@pytest.mark.parametrize(
    ("requested", "header", "chosen"),
    [
        ("ru", "en-US,en;q=0.9", "ru"),
        (None, "ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        (None, "de-DE,de;q=0.9,en;q=0.5,kk;q=0.7", "kk"),
        (None, "en-GB", "en"),
        (None, "fr-FR", "kk"),
        (None, None, "kk"),
        ("xx", "en;q=0", "kk"),
    ],
)
def test_the_language_is_the_asked_one_else_the_browsers_else_kazakh(
    requested: str | None, header: str | None, chosen: str
) -> None:
    assert choose_language(requested, header) == chosen


def test_catalog_files_are_gettext_po() -> None:
    for language in LANGUAGES:
        text = (LOCALE_DIR / f"{language}.po").read_text()
        assert f'"Language: {language}\\n"' in text and "charset=UTF-8" in text
