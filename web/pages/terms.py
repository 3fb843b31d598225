"""The proctoring terms a candidate is shown, by version: a consent is recorded only for terms the server serves.

A version names the terms' language and a digest of their words as shown (with this deployment's retention and
privacy contact): change either and the version changes, so a recorded consent says which words were agreed to.
"""

from __future__ import annotations

import hashlib

from web.pages.i18n import LANGUAGES, Catalog, catalog

TERMS_KEYS = ("consent.recorded", "consent.who", "consent.kept", "consent.basis", "consent.fair")


def terms_version(texts: Catalog, retention_days: int, contact: str) -> str:
    """Names the proctoring terms a candidate was shown: their language and a digest of their words as shown."""
    words = "\n".join(texts.text(key, days=retention_days) for key in TERMS_KEYS) + "\n" + contact
    return f"{texts.language}-{hashlib.sha256(words.encode()).hexdigest()[:12]}"


def served_terms(retention_days: int, contact: str) -> dict[str, str]:
    """The version of the terms the exam page shows in each language."""
    return {code: terms_version(catalog(code), retention_days, contact) for code in LANGUAGES}
