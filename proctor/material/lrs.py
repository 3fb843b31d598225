"""Answers from the learning record store: Moodle (logstore_xapi) sends a quiz's essay answer as a statement whose
`result.response` holds the essay's HTML. The college's statements of one activity (the quiz, the assignment or the
question; with `related`, any statement naming it in its context too) are imported once each, as answers of an exam.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from footprint.xapi.queries import StatementQuery, query_statements
from proctor.material.files import html_text
from proctor.material.service import MaterialService, NewText
from proctor.sessions.errors import InvalidInputError, TooLargeError
from proctor.sessions.store import college_exam

logger = logging.getLogger(__name__)

PAGE = 500
MAX_IMPORT = 10_000
"""Statements read per call at most (a call again goes on where this one stopped: imported ones are skipped)."""
MIN_WORDS = 5
"""A response shorter than this (a choice, a number) is not a written answer."""


@dataclass(frozen=True)
class Imported:
    """What one import did."""

    read: int
    imported: list[int]
    """Ids of the answers stored."""
    already: int
    """Statements imported before."""
    skipped: int
    """Statements without a written response or a learner account."""


def _learner(statement: dict[str, Any]) -> tuple[str | None, str | None]:
    actor = statement.get("actor")
    if not isinstance(actor, dict):
        return None, None
    name = actor.get("name") if isinstance(actor.get("name"), str) else None
    account = actor.get("account")
    if isinstance(account, dict) and isinstance(account.get("name"), str):
        return account["name"][:128], name
    mbox = actor.get("mbox")
    return (mbox[:128], name) if isinstance(mbox, str) else (None, name)


def _title(statement: dict[str, Any], activity_id: str) -> str:
    target = statement.get("object")
    names = target.get("definition", {}).get("name", {}) if isinstance(target, dict) else {}
    if isinstance(names, dict):
        for language in ("kk-KZ", "ru-RU", "en-US", "en"):
            if isinstance(names.get(language), str):
                return str(names[language])
        for value in names.values():
            if isinstance(value, str):
                return value
    return str(target.get("id", activity_id)) if isinstance(target, dict) else activity_id


def import_responses(
    service: MaterialService, college_id: str, exam_id: str, activity_id: str, *, related: bool = True
) -> Imported:
    """Store the written responses of the college's statements about `activity_id` as answers of the exam."""
    with service.store.sessions() as db:
        college_exam(db, college_id, exam_id)
    read = already = skipped = 0
    imported: list[int] = []
    after: int | None = None
    while read < MAX_IMPORT:
        query = StatementQuery(
            activity=activity_id, related_activities=related, ascending=True, after=after, limit=PAGE
        )
        with service.store.sessions() as db:
            page = query_statements(db, college_id, query)
            seen = service.imported(db, college_id, [str(s.get("id")) for s in page.statements])
        for statement in page.statements:
            read += 1
            response = (
                statement.get("result", {}).get("response") if isinstance(statement.get("result"), dict) else None
            )
            learner_id, learner_name = _learner(statement)
            if str(statement.get("id")) in seen:
                already += 1
                continue
            if not isinstance(response, str) or learner_id is None:
                skipped += 1
                continue
            text = html_text(response).strip()
            if len(text.split()) < MIN_WORDS:
                skipped += 1
                continue
            new = NewText(
                kind="answer",
                title=_title(statement, activity_id),
                text=text,
                origin="lrs",
                exam_id=exam_id,
                learner_id=learner_id,
                learner_name=learner_name[:300] if learner_name else None,
                statement_id=str(statement["id"]),
            )
            try:
                imported.append(service.add(college_id, new).id)
            except (InvalidInputError, TooLargeError) as exc:
                logger.info("statement %s not imported: %s", statement.get("id"), exc)
                skipped += 1
        if page.next_after is None:
            break
        after = page.next_after
    return Imported(read, imported, already, skipped)
