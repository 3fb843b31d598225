"""The report of one answer: its share in matched passages, the findings, each matched text with its passages side
by side (both excerpts, with the differences marked), and the examiner's decisions; as plain data and as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from proctor.material.align import Passage, Piece
from proctor.material.normalise import Folding

FINDINGS = ("copy", "mixed_alphabets")
CONTEXT = 60
"""Characters shown either side of a passage."""


@dataclass(frozen=True)
class TextInfo:
    """A stored text of the college, as a report names it."""

    id: int
    kind: str
    exam_id: str | None
    learner_id: str | None
    learner_name: str | None
    title: str
    origin: str
    language: str
    words: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class Side:
    """One side of a passage: its span in its text, the excerpt, and the marked pieces inside the excerpt
    (offsets relative to the excerpt's start)."""

    start: int
    end: int
    excerpt: str
    excerpt_start: int
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class SidePassage:
    answer: Side
    other: Side
    words: int
    matched: int


@dataclass(frozen=True)
class Source:
    """A matched text (another answer or a reference source) and the passages the answer shares with it."""

    text: TextInfo
    share: float
    estimate: float
    passages: tuple[SidePassage, ...]


@dataclass(frozen=True)
class Decision:
    finding: str
    action: str
    share: float
    note: str
    examiner: str
    ledger_index: int
    statement_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class Report:
    """What the examiner judges: the answer, its shares, its findings, its sources and the decisions so far."""

    answer: TextInfo
    share: float
    findings: tuple[str, ...]
    folding: Folding
    sources: tuple[Source, ...]
    decisions: tuple[Decision, ...]
    answer_share_from: float
    compared_with: int
    """Texts of the college the answer was compared with (its exam's other answers, sources, other exams')."""

    def decision(self, finding: str) -> Decision | None:
        """The latest decision on a finding."""
        found = [decision for decision in self.decisions if decision.finding == finding]
        return found[-1] if found else None


def side(text: str, start: int, end: int, pieces: tuple[Piece, ...]) -> Side:
    """A passage's excerpt with CONTEXT characters either side (cut at a space) and its pieces made relative."""
    lo = max(0, start - CONTEXT)
    if lo > 0 and (space := text.find(" ", lo, start)) >= 0:
        lo = space + 1
    hi = min(len(text), end + CONTEXT)
    if hi < len(text) and (space := text.rfind(" ", end, hi)) >= 0:
        hi = space
    relative = tuple(Piece(piece.start - lo, piece.end - lo, piece.kind) for piece in pieces)
    return Side(start, end, text[lo:hi], lo, relative)


def side_passage(answer: str, other: str, passage: Passage) -> SidePassage:
    return SidePassage(
        side(answer, passage.a_start, passage.a_end, passage.a_pieces),
        side(other, passage.b_start, passage.b_end, passage.b_pieces),
        passage.words,
        passage.matched,
    )


CSV_FIELDS = (
    "answer_id",
    "exam_id",
    "learner_id",
    "answer_share",
    "findings",
    "source_kind",
    "source_id",
    "source_title",
    "source_learner_id",
    "source_share",
    "passage",
    "answer_start",
    "answer_end",
    "source_start",
    "source_end",
    "words",
    "answer_passage",
    "source_passage",
)


def _cell(value: str) -> str:
    """A spreadsheet must not take a cell for a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(report: Report, answer_text: str, texts: dict[int, str]) -> str:
    """One row per passage (one row for an answer without any): the answer, the source, both passages' text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    head = [
        str(report.answer.id),
        report.answer.exam_id or "",
        _cell(report.answer.learner_id or ""),
        f"{report.share:.4f}",
        " ".join(report.findings),
    ]
    if not report.sources:
        writer.writerow(head + [""] * (len(CSV_FIELDS) - len(head)))
    for source in report.sources:
        other = texts.get(source.text.id, "")
        for number, passage in enumerate(source.passages, 1):
            writer.writerow(
                head
                + [
                    source.text.kind,
                    str(source.text.id),
                    _cell(source.text.title),
                    _cell(source.text.learner_id or ""),
                    f"{source.share:.4f}",
                    str(number),
                    str(passage.answer.start),
                    str(passage.answer.end),
                    str(passage.other.start),
                    str(passage.other.end),
                    str(passage.words),
                    _cell(answer_text[passage.answer.start : passage.answer.end]),
                    _cell(other[passage.other.start : passage.other.end]),
                ]
            )
    return out.getvalue()
