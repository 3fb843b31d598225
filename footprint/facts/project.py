"""Statements → facts: the classification of one statement, and the rows written with a stored batch.

`project` is pure (a statement in, a `Fact` of strings and numbers out); it is what the offline verifier
runs on the statements of an evidence bundle, so the figures it recomputes come from the same code.
`record_facts` interns the strings as the college's terms and inserts the rows, in the caller's
transaction (the statements' own): a statement is stored if and only if its fact is.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from footprint.facts.tables import FactRow, TermRow
from footprint.vocabulary import (
    JISC_LATE,
    Category,
    Kind,
    category_of,
    course_of,
    exam_id,
    module_id,
    proctoring_result,
    statement_kind,
)
from footprint.xapi.canonical import agent_key
from footprint.xapi.checks import parse_timestamp
from footprint.xapi.tables import table

FACTS = table(FactRow)
TERMS = table(TermRow)
VERDICTS = {"confirmed": 1, "annulled": 2, "retake": 3}
DURATION = re.compile(
    r"^P(?:(?P<w>[\d.,]+)W)?(?:(?P<y>[\d.,]+)Y)?(?:(?P<mo>[\d.,]+)M)?(?:(?P<d>[\d.,]+)D)?"
    r"(?:T(?:(?P<h>[\d.,]+)H)?(?:(?P<mi>[\d.,]+)M)?(?:(?P<s>[\d.,]+)S)?)?$"
)
DURATION_SECONDS = {"w": 604800, "y": 31536000, "mo": 2592000, "d": 86400, "h": 3600, "mi": 60, "s": 1}
TERM_CHUNK = 500


@dataclass(frozen=True)
class Fact:
    """What the indicators need of one statement; strings are terms (agent keys, IRIs, `name:`/`exam:` forms)."""

    kind: int
    category: int
    at: int
    actor: str | None = None
    alias: str | None = None
    verb: str | None = None
    object: str | None = None
    course: str | None = None
    instructor: str | None = None
    registration: str | None = None
    raw: float | None = None
    low: float | None = None
    high: float | None = None
    duration_s: float | None = None
    success: int | None = None
    completion: int | None = None
    late: int | None = None
    feedback: int | None = None
    verdict: int | None = None


TERM_FIELDS = ("actor", "alias", "verb", "object", "course", "instructor", "registration")
FACT_FIELDS = tuple(f.name for f in fields(Fact))


def duration_seconds(value: Any) -> float | None:
    """Seconds of an ISO 8601 duration (years and months taken as 365 and 30 days), None when not one."""
    match = DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    total = 0.0
    for name, seconds in DURATION_SECONDS.items():
        part = match.group(name)
        if part:
            total += float(part.replace(",", ".")) * seconds
    return total


def display_name(name: str) -> str:
    """The alias form of a display name: `name:` and the name in lower case with single spaces."""
    return "name:" + " ".join(name.split()).casefold()


def proctoring_account(college_id: str) -> str:
    """The account home page suffix of the platform's own candidates in a college (see proctor statements)."""
    return f"/colleges/{college_id}"


def actor_term(actor: Mapping[str, Any], college_id: str) -> str | None:
    """The term of an actor: `learner:ID` for the platform's own candidate account, else its agent key."""
    account = actor.get("account")
    if isinstance(account, Mapping) and str(account.get("homePage", "")).endswith(proctoring_account(college_id)):
        return f"learner:{account.get('name')}"
    return agent_key(actor)


def _flag(value: Any) -> int | None:
    return None if not isinstance(value, bool) else int(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def project(statement: Mapping[str, Any], college_id: str) -> Fact:
    """The fact of one stored statement (its `timestamp` is always there: the store fills it in)."""
    kind = statement_kind(statement)
    instant = parse_timestamp(str(statement.get("timestamp", "")))
    at = int(instant.timestamp()) if instant is not None else 0
    actor = statement.get("actor", {})
    target = statement.get("object", {})
    is_activity = target.get("objectType", "Activity") == "Activity"
    category = category_of(target, kind) if is_activity else Category.OTHER
    result = statement.get("result", {})
    score = result.get("score", {}) if isinstance(result.get("score"), Mapping) else {}
    context = statement.get("context", {})
    instructor = context.get("instructor")
    registration = context.get("registration")
    values: dict[str, Any] = {
        "actor": actor_term(actor, college_id),
        "course": course_of(statement),
        "instructor": agent_key(instructor) if isinstance(instructor, Mapping) else None,
        "registration": str(registration).lower() if registration else None,
        "raw": _number(score.get("raw")),
        "low": _number(score.get("min")),
        "high": _number(score.get("max")),
        "duration_s": duration_seconds(result.get("duration")),
        "success": _flag(result.get("success")),
        "completion": _flag(result.get("completion")),
    }
    if is_activity:
        values["object"] = module_id(str(target["id"]))
    if kind == Kind.OTHER:
        values["verb"] = str(statement["verb"]["id"])
    if category == Category.MEETING and isinstance(actor.get("name"), str):
        values["alias"] = display_name(actor["name"])
    if kind == Kind.SCORED:
        values["feedback"] = int(bool(str(result.get("response", "")).strip()))
    extensions = result.get("extensions", {})
    if kind == Kind.ATTENDED and isinstance(extensions, Mapping) and JISC_LATE in extensions:
        values["late"] = int(bool(extensions[JISC_LATE]))
    proctoring = proctoring_result(statement)
    if proctoring is not None and kind in (Kind.PROCTORED, Kind.VERDICT, Kind.UNTRUSTED_PROCTORING):
        exam = exam_id(str(target.get("id", "")))
        values["object"] = f"exam:{exam}" if exam else values.get("object")
        values["raw"] = _number(proctoring.get("suspicion_score"))
        values["verdict"] = VERDICTS.get(str(proctoring.get("verdict")))
        session = proctoring.get("session")
        values["registration"] = str(session).lower() if session else values["registration"]
    return Fact(kind=int(kind), category=int(category), at=at, **values)


def term_digest(text: str) -> str:
    """The key a term is found by (its text may be longer than an index allows)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def intern(db: Connection, college_id: str, texts: Iterable[str]) -> dict[str, int]:
    """Ids of a college's terms, creating the missing ones (callers hold the ledger's append lock)."""
    wanted = {term_digest(text): text for text in set(texts)}
    found: dict[str, int] = {}
    digests = list(wanted)
    for start in range(0, len(digests), TERM_CHUNK):
        chunk = digests[start : start + TERM_CHUNK]
        rows = db.execute(
            select(TERMS.c.digest, TERMS.c.id).where(TERMS.c.college_id == college_id, TERMS.c.digest.in_(chunk))
        )
        found.update({wanted[row.digest]: int(row.id) for row in rows})
    missing = [{"college_id": college_id, "digest": d, "text": t} for d, t in wanted.items() if t not in found]
    if missing:
        ids = db.execute(insert(TERMS).returning(TERMS.c.id, sort_by_parameter_order=True), missing).scalars()
        found.update({row["text"]: int(new_id) for row, new_id in zip(missing, ids, strict=True)})
    return found


def fact_rows(
    college_id: str, items: Sequence[tuple[int, int, Fact]], terms: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Rows of `footprint_facts` for (seq, ledger index, fact) triples, strings replaced by term ids."""
    rows = []
    for seq, ledger_index, fact in items:
        row: dict[str, Any] = dict(vars(fact))  # not dataclasses.astuple: it deep-copies, a third of the cost
        for name in TERM_FIELDS:
            text = row[name]
            row[name] = None if text is None else terms[text]
        rows.append({"seq": seq, "college_id": college_id, "ledger_index": ledger_index, **row})
    return rows


def record_facts(
    db: Session | Connection, college_id: str, stored: Sequence[tuple[int, int, Mapping[str, Any]]]
) -> None:
    """Project and insert the facts of statements just stored: (seq, ledger index, statement) triples."""
    if not stored:
        return
    connection = db.connection() if isinstance(db, Session) else db
    items = [(seq, index, project(statement, college_id)) for seq, index, statement in stored]
    texts = {text for _, _, fact in items for name in TERM_FIELDS if (text := getattr(fact, name)) is not None}
    terms = intern(connection, college_id, texts)
    connection.execute(insert(FACTS), fact_rows(college_id, items, terms))
