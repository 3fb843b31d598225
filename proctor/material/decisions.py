"""The examiner's decision on a finding of an answer — confirmed or dismissed, a new row each time, appended to the
ledger with what was judged (the answer's and the sources' sha256, the shares, the passages' places) — and, when
confirmed, an xAPI statement in the learner's footprint, all in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from proctor.material.report import FINDINGS, Decision, Report
from proctor.material.service import MaterialService, decision_of
from proctor.material.tables import MaterialDecisionRow
from proctor.sessions.errors import InvalidInputError, StateError
from proctor.sessions.statements import NAMESPACE, PROCTORED_EXAM, Examiner
from proctor.sessions.store import college_exam

MAX_NOTE = 5000
FOREIGN_MATERIAL = {
    "id": "https://proctor-kz.org/xapi/verbs/foreign-material-found",
    "display": {
        "en-US": "foreign material found",
        "ru-RU": "обнаружены заимствования",
        "kk-KZ": "бөгде материал табылды",
    },
}
"""An examiner confirmed that a learner's written answer holds foreign material (order 187 of 2026)."""
MATERIAL_RESULT = "https://proctor-kz.org/xapi/extensions/foreign-material"


class Action(StrEnum):
    CONFIRMED = "confirmed"
    """The finding stands: the answer holds foreign material (or hides text behind mixed alphabets)."""
    DISMISSED = "dismissed"
    """It does not (a quotation, the question's own words, a common formula)."""


@dataclass(frozen=True)
class Judge:
    """Who decides: a signed-in examiner (their user id), or the name an API client gives."""

    name: str
    user_id: str | None = None


def _statement_id(key: bytes, text_id: int, number: int) -> str:
    name = f"material/{text_id}/{number}"
    if key:
        name = hmac.new(key, name.encode(), hashlib.sha256).hexdigest()
    return str(uuid.uuid5(NAMESPACE, name))


def _payload(report: Report, finding: str, action: Action, note: str, judge: Judge) -> dict[str, Any]:
    answer = report.answer
    return {
        "answer": answer.id,
        "exam": answer.exam_id,
        "learner": answer.learner_id,
        "answer_sha256": answer.sha256,
        "finding": finding,
        "action": action.value,
        "share": report.share,
        "mixed_alphabet_words": report.folding.mixed_words,
        "sources": [
            {
                "text": source.text.id,
                "kind": source.text.kind,
                "sha256": source.text.sha256,
                "share": source.share,
                "passages": [[p.answer.start, p.answer.end, p.other.start, p.other.end] for p in source.passages],
            }
            for source in report.sources
        ],
        "note": note,
        "examiner": judge.name,
        "examiner_id": judge.user_id,
    }


class MaterialDecisions:
    """Records decisions on findings through the material service's store and ledger."""

    def __init__(self, service: MaterialService) -> None:
        self.service = service
        self.store = service.store

    def decide(
        self, college_id: str, text_id: int, finding: str, action: Action, judge: Judge, note: str = ""
    ) -> Decision:
        """Confirm or dismiss a finding the answer's report shows now (409 for one it does not show)."""
        text = note.strip()
        if len(text) > MAX_NOTE:
            raise InvalidInputError(f"a note has at most {MAX_NOTE} characters")
        if finding not in FINDINGS:
            raise InvalidInputError(f"a finding is one of {', '.join(FINDINGS)}")
        report, _, _ = self.service.report(college_id, text_id)
        if finding not in report.findings and not (finding == "copy" and report.sources):
            raise StateError(f"answer {text_id} has no {finding} finding to decide on")
        with self.store.write() as db:
            number = int(
                db.scalar(select(func.count(MaterialDecisionRow.id)).where(MaterialDecisionRow.text_id == text_id)) or 0
            )
            entry = self.store.ledger.append(
                db, "material_decision", f"{text_id}/{number}", _payload(report, finding, action, text, judge)
            )
            statement_id = None
            answer = report.answer
            if action == Action.CONFIRMED and self.store.statement_sink is not None and answer.learner_id:
                statement = self._statement(db, college_id, report, finding, judge, text, number)
                self.store.statement_sink(db, college_id, statement)
                statement_id = statement["id"]
            row = MaterialDecisionRow(
                college_id=college_id,
                text_id=text_id,
                finding=finding,
                action=action.value,
                share=report.share,
                note=text,
                examiner=judge.name,
                ledger_index=entry.index,
                statement_id=statement_id,
            )
            db.add(row)
            db.flush()
            return decision_of(row)

    def _statement(
        self, db: Any, college_id: str, report: Report, finding: str, judge: Judge, note: str, number: int
    ) -> dict[str, Any]:
        """The `foreign material found` statement: the learner, the exam, the share and the sources' count."""
        base = self.store.config.base_url
        answer = report.answer
        exam = college_exam(db, college_id, answer.exam_id) if answer.exam_id else None
        actor: dict[str, Any] = {
            "objectType": "Agent",
            "account": {"homePage": f"{base}/colleges/{college_id}", "name": answer.learner_id},
        }
        if answer.learner_name:
            actor["name"] = answer.learner_name
        target: dict[str, Any] = {
            "objectType": "Activity",
            "id": f"{base}/exams/{exam.id}" if exam else f"{base}/material/answers/{answer.id}",
            "definition": {
                "type": PROCTORED_EXAM,
                "name": {"en-US": exam.title if exam else answer.title},
            },
        }
        context: dict[str, Any] = {"platform": "proctor-kz"}
        if judge.user_id is not None:
            examiner = Examiner(judge.user_id, judge.name)
            context["instructor"] = {
                "objectType": "Agent",
                "name": examiner.full_name,
                "account": {"homePage": f"{base}/colleges/{college_id}/people", "name": examiner.user_id},
            }
        result: dict[str, Any] = {
            "success": False,
            "extensions": {
                MATERIAL_RESULT: {
                    "answer": answer.id,
                    "finding": finding,
                    "share": report.share,
                    "sources": len(report.sources),
                }
            },
        }
        if note:
            result["response"] = note
        return {
            "id": _statement_id(self.store.statement_id_key, answer.id, number),
            "actor": actor,
            "verb": FOREIGN_MATERIAL,
            "object": target,
            "result": result,
            "context": context,
            "timestamp": datetime.now(UTC).isoformat(),
        }
