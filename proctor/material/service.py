"""The college's texts for foreign-material checks: answers and reference sources stored with their signatures, the
college's LSH index kept in step with the table (built from the stored signatures, never re-hashing a text), and
the report of an answer. Everything is read through the caller's college: another college's texts are neither
indexed with these nor found."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.material.align import covered
from proctor.material.check import check
from proctor.material.config import MaterialConfig
from proctor.material.index import MaterialIndex
from proctor.material.normalise import Normalised, normalise
from proctor.material.report import (
    Decision,
    Report,
    Source,
    TextInfo,
    side_passage,
)
from proctor.material.signatures import from_bytes, signatures, to_bytes
from proctor.material.tables import MaterialDecisionRow, MaterialTextRow
from proctor.policy import policy_from_dict
from proctor.sessions.errors import InvalidInputError, NotFoundError
from proctor.sessions.store import SessionStore, college_exam

CACHED_TEXTS = 20_000
"""Normalised texts kept in memory for alignment (the most recently used)."""
MAX_TITLE = 300


@dataclass(frozen=True)
class NewText:
    """A text to store: an answer (with its exam and learner) or a reference source (neither)."""

    kind: str
    title: str
    text: str
    origin: str = "api"
    exam_id: str | None = None
    learner_id: str | None = None
    learner_name: str | None = None
    statement_id: str | None = None


@dataclass(frozen=True)
class _Owner:
    kind: str
    exam_id: str | None
    learner_id: str | None


@dataclass
class _CollegeIndex:
    index: MaterialIndex = field(default_factory=MaterialIndex)
    last_id: int = 0
    owners: dict[int, _Owner] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def text_info(row: MaterialTextRow) -> TextInfo:
    return TextInfo(
        row.id,
        row.kind,
        row.exam_id,
        row.learner_id,
        row.learner_name,
        row.title,
        row.origin,
        row.language,
        row.words,
        row.sha256,
        row.created_at,
    )


def decision_of(row: MaterialDecisionRow) -> Decision:
    return Decision(
        row.finding, row.action, row.share, row.note, row.examiner, row.ledger_index, row.statement_id, row.created_at
    )


def material_config(db: Session, college_id: str, exam_id: str | None) -> MaterialConfig:
    """The thresholds of the exam's policy (the defaults for a text without an exam)."""
    if exam_id is None:
        return MaterialConfig()
    return policy_from_dict(college_exam(db, college_id, exam_id).policy).material


class MaterialService:
    """Stores a college's texts, keeps its index and reports on its answers."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self._colleges: dict[str, _CollegeIndex] = {}
        self._colleges_lock = threading.Lock()
        self._normalised: OrderedDict[int, Normalised] = OrderedDict()
        self._cache_lock = threading.Lock()

    # storing

    def add(self, college_id: str, new: NewText) -> TextInfo:
        """Store a text (normalised and signed here, in the caller's thread) and return what was stored."""
        title = " ".join(new.title.split())[:MAX_TITLE] or ("answer" if new.kind == "answer" else "source")
        normalised = normalise(new.text)
        rows = signatures(normalised.terms)
        with self.store.write() as db:
            if new.exam_id is not None:
                college_exam(db, college_id, new.exam_id)  # another college's exam is not found
            row = MaterialTextRow(
                college_id=college_id,
                kind=new.kind,
                exam_id=new.exam_id,
                learner_id=new.learner_id,
                learner_name=new.learner_name,
                title=title,
                origin=new.origin,
                statement_id=new.statement_id,
                text=new.text,
                sha256=hashlib.sha256(new.text.encode("utf-8")).hexdigest(),
                language=normalised.language,
                words=len(normalised),
                signature=to_bytes(rows),
            )
            db.add(row)
            db.flush()
            info = text_info(row)
        self._remember(info.id, normalised)
        return info

    def texts(
        self, college_id: str, *, kind: str, exam_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[TextInfo], int]:
        """A page of the college's answers (of one exam) or sources, oldest first, and how many there are."""
        with self.store.sessions() as db:
            if exam_id is not None:
                college_exam(db, college_id, exam_id)
            where = [MaterialTextRow.college_id == college_id, MaterialTextRow.kind == kind]
            if exam_id is not None:
                where.append(MaterialTextRow.exam_id == exam_id)
            total = int(db.scalar(select(func.count(MaterialTextRow.id)).where(*where)) or 0)
            rows = db.scalars(
                select(MaterialTextRow).where(*where).order_by(MaterialTextRow.id).limit(limit).offset(offset)
            )
            return [text_info(row) for row in rows], total

    def text(self, db: Session, college_id: str, text_id: int) -> MaterialTextRow:
        """The college's text; another college's (or an unknown) id is not found."""
        row = db.get(MaterialTextRow, text_id)
        if row is None or row.college_id != college_id:
            raise NotFoundError(f"no text {text_id}")
        return row

    def imported(self, db: Session, college_id: str, statement_ids: list[str]) -> set[str]:
        """Which of these LRS statements were imported as answers already."""
        found = db.scalars(
            select(MaterialTextRow.statement_id).where(
                MaterialTextRow.college_id == college_id, MaterialTextRow.statement_id.in_(statement_ids)
            )
        )
        return {value for value in found if value is not None}

    # the index

    def _college(self, college_id: str) -> _CollegeIndex:
        with self._colleges_lock:
            return self._colleges.setdefault(college_id, _CollegeIndex())

    def synced(self, college_id: str) -> _CollegeIndex:
        """The college's index with every stored text in it (texts stored by other nodes included); rebuilt when
        texts were removed."""
        state = self._college(college_id)
        with state.lock, self.store.sessions() as db:
            count = int(
                db.scalar(select(func.count(MaterialTextRow.id)).where(MaterialTextRow.college_id == college_id)) or 0
            )
            if count < len(state.owners):  # a text was erased: start again
                with self._colleges_lock:
                    state = self._colleges[college_id] = _CollegeIndex()
            fresh = db.execute(
                select(
                    MaterialTextRow.id,
                    MaterialTextRow.kind,
                    MaterialTextRow.exam_id,
                    MaterialTextRow.learner_id,
                    MaterialTextRow.signature,
                )
                .where(MaterialTextRow.college_id == college_id, MaterialTextRow.id > state.last_id)
                .order_by(MaterialTextRow.id)
            ).all()
            for row in fresh:
                state.owners[row.id] = _Owner(row.kind, row.exam_id, row.learner_id)
            state.index.add_many((row.id, from_bytes(row.signature)) for row in fresh)
            if fresh:
                state.last_id = fresh[-1].id
        return state

    def _remember(self, text_id: int, normalised: Normalised) -> None:
        with self._cache_lock:
            self._normalised[text_id] = normalised
            self._normalised.move_to_end(text_id)
            while len(self._normalised) > CACHED_TEXTS:
                self._normalised.popitem(last=False)

    def _load(self, db: Session, college_id: str, text_id: int) -> Normalised | None:
        with self._cache_lock:
            cached = self._normalised.get(text_id)
        if cached is not None:
            return cached
        text = db.scalar(
            select(MaterialTextRow.text).where(MaterialTextRow.id == text_id, MaterialTextRow.college_id == college_id)
        )
        if text is None:
            return None
        normalised = normalise(text)
        self._remember(text_id, normalised)
        return normalised

    # reports

    def report(self, college_id: str, text_id: int) -> tuple[Report, str, dict[int, str]]:
        """The report of one answer, with the answer's text and the matched texts' (for excerpts and CSV)."""
        state = self.synced(college_id)
        with self.store.sessions() as db:
            row = self.text(db, college_id, text_id)
            if row.kind != "answer":
                raise InvalidInputError(f"text {text_id} is a reference source: reports are of answers")
            config = material_config(db, college_id, row.exam_id)
            own = state.owners.get(text_id, _Owner(row.kind, row.exam_id, row.learner_id))

            def keep(other: int) -> bool:
                owner = state.owners.get(other)
                if other == text_id or owner is None:
                    return False
                if owner.kind == "source":
                    return True
                if owner.exam_id == own.exam_id:
                    return owner.learner_id is None or owner.learner_id != own.learner_id
                return config.other_exams

            normalised = self._load(db, college_id, text_id) or normalise(row.text)
            compared = sum(1 for other in state.owners if keep(other))
            checked = check(
                normalised,
                from_bytes(row.signature),
                state.index,
                lambda other: self._load(db, college_id, other),
                keep,
                config.min_passage_words,
            )
            listed = [match for match in checked.matches if match.share >= config.pair_share_from]
            others = {
                other.id: other
                for other in db.scalars(
                    select(MaterialTextRow).where(MaterialTextRow.id.in_([m.text_id for m in listed]))
                )
                if other.college_id == college_id
            }
            sources = tuple(
                Source(
                    text_info(others[match.text_id]),
                    match.share,
                    match.estimate,
                    tuple(side_passage(row.text, others[match.text_id].text, p) for p in match.passages),
                )
                for match in listed
                if match.text_id in others
            )
            inside: set[int] = set()
            for match in listed:
                inside |= covered(match.passages)
            share = round(len(inside) / max(len(normalised), 1), 4)
            findings: list[str] = []
            if sources and share >= config.answer_share_from:
                findings.append("copy")
            if checked.folding.mixed_words >= config.mixed_alphabet_words_from:
                findings.append("mixed_alphabets")
            decisions = db.scalars(
                select(MaterialDecisionRow)
                .where(MaterialDecisionRow.college_id == college_id, MaterialDecisionRow.text_id == text_id)
                .order_by(MaterialDecisionRow.id)
            )
            report = Report(
                text_info(row),
                share,
                tuple(findings),
                checked.folding,
                sources,
                tuple(decision_of(decision) for decision in decisions),
                config.answer_share_from,
                compared,
            )
            return report, row.text, {other_id: other.text for other_id, other in others.items()}
