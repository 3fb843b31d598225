"""What the protocol of a session holds for the attestation file: the session as reviewed (candidate, exam,
identity, room scans, events with the decisions on them, the verdicts), and — so the paper can be checked against
the log later — a signed ledger checkpoint and, for every decision, its record, leaf hash and inclusion proof
against that checkpoint. Anyone with the platform's public key can verify them offline (`footprint verify
inclusion`)."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.accounts import CollegeRow
from footprint.ledger import SignedCheckpoint
from proctor.review.access import Reviewer
from proctor.review.session_view import SessionView, session_view
from proctor.review.thumbnails import make_thumbnail, thumbnail
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import CandidateRow, DecisionRow, EventReviewRow, EventRow, SessionFaceRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvenDecision:
    """A decision as the ledger keeps it, with what proves it against the protocol's checkpoint."""

    kind: str
    """event_review or proctoring_verdict."""
    what: str
    """confirmed, dismissed or noted (an event), or the verdict."""
    event_seq: int | None
    examiner: str
    at: datetime
    leaf_index: int
    tree_size: int
    record: str
    """The record's canonical JSON (RFC 8785): the bytes the leaf hash is made of."""
    leaf_hash: str
    """SHA-256(0x00 ‖ record), hex."""
    audit_path: tuple[str, ...]
    """The inclusion proof's hashes, base64 (as `footprint verify inclusion` reads them)."""

    @property
    def proof_json(self) -> str:
        proof = {"leafIndex": self.leaf_index, "treeSize": self.tree_size, "auditPath": list(self.audit_path)}
        return json.dumps(proof, separators=(",", ":"))


@dataclass(frozen=True)
class ProtocolData:
    view: SessionView
    college_name: str
    generated_at: datetime
    generated_by: str
    decisions: tuple[ProvenDecision, ...]
    checkpoint: SignedCheckpoint
    verifier_key: str

    @property
    def root_hash(self) -> str:
        return base64.b64encode(self.checkpoint.checkpoint.root_hash).decode()


def protocol_data(store: SessionStore, reviewer: Reviewer, session_id: str) -> ProtocolData:
    """Everything the protocol shows, with a checkpoint that includes every decision on the session (signed now
    if the log has grown since the last one)."""
    ledger = store.ledger
    if ledger.signer is None:
        raise RuntimeError("the ledger has no signing key: a protocol needs a signed checkpoint")
    with store.write() as db:
        view = session_view(db, reviewer, session_id)
        signed = ledger.checkpoint(db)
    with store.sessions() as db:
        college = db.get(CollegeRow, reviewer.college_id)
        decisions = _decisions(db, store, session_id, signed.checkpoint.tree_size)
    return ProtocolData(
        view=view,
        college_name=college.name if college else "",
        generated_at=datetime.now(UTC),
        generated_by=reviewer.full_name,
        decisions=decisions,
        checkpoint=signed,
        verifier_key=ledger.signer.verifier,
    )


def _decisions(db: Session, store: SessionStore, session_id: str, tree_size: int) -> tuple[ProvenDecision, ...]:
    found: list[tuple[str, str, int | None, str, datetime, int]] = []
    reviews = db.scalars(
        select(EventReviewRow).where(EventReviewRow.session_id == session_id).order_by(EventReviewRow.id)
    )
    for review in reviews:
        found.append(
            ("event_review", review.action, review.event_seq, review.examiner, review.created_at, review.ledger_index)
        )
    verdicts = db.scalars(select(DecisionRow).where(DecisionRow.session_id == session_id).order_by(DecisionRow.id))
    for verdict in verdicts:
        found.append(
            ("proctoring_verdict", verdict.verdict, None, verdict.examiner, verdict.created_at, verdict.ledger_index)
        )
    proven = []
    for kind, what, seq, examiner, at, index in sorted(found, key=lambda item: item[5]):
        entry = store.ledger.entry_at(db, index)
        if entry is None or index >= tree_size:
            continue
        proof = store.ledger.inclusion_proof(db, index, tree_size)
        proven.append(
            ProvenDecision(
                kind=kind,
                what=what,
                event_seq=seq,
                examiner=examiner,
                at=at,
                leaf_index=index,
                tree_size=tree_size,
                record=entry.payload.decode(),
                leaf_hash=entry.leaf_hash.hex(),
                audit_path=tuple(base64.b64encode(h).decode() for h in proof.audit_path),
            )
        )
    return tuple(proven)


@dataclass(frozen=True)
class ProtocolPictures:
    """The protocol's pictures (JPEG): the candidate's reference photo and each event's evidence thumbnail."""

    reference: bytes | None
    evidence: dict[int, bytes]
    faces: dict[int, bytes]
    """Crops of the faces in the session's face matches, by face row."""
    references: dict[str, bytes]
    """Enrolled photos of the other candidates in the face matches, by their session."""


def protocol_pictures(store: SessionStore, view: SessionView) -> ProtocolPictures:
    """Small pictures for the protocol; one that is no longer kept (retention) is left out."""
    with store.sessions() as db:
        candidate = db.get(CandidateRow, view.candidate_id)
        rows = db.execute(
            select(EventRow.seq, EventRow.evidence_key).where(
                EventRow.session_id == view.session_id,
                EventRow.analysis_run == view.analysis_run,
                EventRow.evidence_key.is_not(None),
                EventRow.evidence_purged_at.is_(None),
            )
        ).all()
    reference = _small(store, candidate.photo_key) if candidate is not None and candidate.photo_key else None
    evidence: dict[int, bytes] = {}
    for seq, key in rows:
        try:
            evidence[seq] = thumbnail(store, str(key), view.analysis_run, seq)
        except OSError:
            logger.warning("the evidence of event %d of session %s is no longer kept", seq, view.session_id)
    faces: dict[int, bytes] = {}
    references: dict[str, bytes] = {}
    with store.sessions() as db:
        for match in view.face_matches:
            for side in (match.first, match.second):
                face = db.get(SessionFaceRow, side.face_id) if side.face_id is not None else None
                if face is not None and face.photo_key and face.photo_purged_at is None:
                    if (crop := _small(store, face.photo_key)) is not None:
                        faces[face.id] = crop
                elif side.face_id is None and side.photo_key:
                    if (photo := _small(store, side.photo_key)) is not None:
                        references[side.session_id] = photo
    return ProtocolPictures(reference, evidence, faces, references)


def _small(store: SessionStore, key: str) -> bytes | None:
    """A stored picture, made small for the protocol; None when it is no longer kept."""
    try:
        with store.storage.open(key) as picture:
            return make_thumbnail(picture.read())
    except OSError:
        logger.warning("the picture %s is no longer kept", key)
        return None
