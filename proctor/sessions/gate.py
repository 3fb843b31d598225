"""No proctoring, no attempt: the LMS quiz's password, kept encrypted and shown only inside a proctored session.

The teacher sets a password on the exam's LMS quiz (Moodle) and gives it to the platform through the college
API; the candidate's page asks for it once the session is in progress (consent accepted, the identity check
and the pre-exam room scan behind it), so the quiz cannot be opened without proctoring. The password is
encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256) with a key file, `gate.key`, that sits beside the
ledger's signing key (the data folder; a cluster's shared keys folder, so every node reads what another wrote)
and is made 0600 on first use. The password is never logged and never in the ledger: the ledger records that a
password was set or removed (`quiz_gate`) and each time a candidate was shown it (`quiz_gate_revealed`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.errors import ProctorError
from proctor.policy import policy_from_dict
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import TokenRefused, session_of
from proctor.sessions.store import SessionStore, college_exam
from proctor.sessions.tables import ExamRow, SessionRow, TransitionRow

logger = logging.getLogger(__name__)

GATE_KEY_FILE = "gate.key"
MAX_PASSWORD = 100
BEFORE = frozenset({Status.SCHEDULED, Status.IDENTITY_CHECK, Status.ROOM_SCAN})


class GateKeyError(ProctorError):
    """The key of the quiz passwords is missing, unreadable or not the one they were encrypted with (503); the
    message names the file, for the operator's log (an answer says `OPERATOR_MUST_ACT` instead)."""


OPERATOR_MUST_ACT = (
    "the platform's key of the quiz passwords (gate.key) is missing or is not the one they were kept with; its "
    "operator must restore it from a backup (the server's log says which file). Until then no quiz password is kept "
    "or shown."
)


class NoGate(NotFoundError):
    """The exam has no quiz password (404)."""


class GateClosed(StateError):
    """The session is not in progress: the quiz password is not shown (409)."""


def check_password(password: str) -> str:
    """A quiz password: 1–100 printable characters (the message never quotes it)."""
    if not 1 <= len(password) <= MAX_PASSWORD:
        raise InvalidInputError(f"the quiz password is 1–{MAX_PASSWORD} characters")
    if not password.isprintable():
        raise InvalidInputError("the quiz password must be printable characters (no line breaks or control characters)")
    return password


class GateCipher:
    """Encrypts and decrypts quiz passwords with the key in `path` (None: no key is configured)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path is not None and self.path.exists()

    def missing(self) -> GateKeyError:
        """The error of a key file that is gone while passwords encrypted with it are kept."""
        return GateKeyError(
            f"the key of the quiz passwords {self.path} is missing: the passwords kept cannot be read; restore the "
            "file from a backup, or set each exam's quiz password again"
        )

    def encrypt(self, password: str) -> bytes:
        """The password encrypted (a fresh random IV each time: the same password never gives the same bytes);
        the key is created on first use."""
        return self._key(create=True).encrypt(password.encode("utf-8"))

    def decrypt(self, secret: bytes) -> str:
        try:
            return self._key(create=False).decrypt(secret).decode("utf-8")
        except InvalidToken as exc:
            raise GateKeyError(
                f"the quiz password was encrypted with another key than {self.path}: restore that file from a "
                "backup, or set the exam's quiz password again"
            ) from exc

    def _key(self, *, create: bool) -> Fernet:
        with self._lock:
            if self._fernet is None:
                path = self.path
                if path is None:
                    raise GateKeyError("no key file for quiz passwords is configured on this platform")
                if not path.exists():
                    if not create:
                        raise self.missing()
                    _create_key(path)
                try:
                    self._fernet = Fernet(path.read_bytes().strip())
                except (OSError, ValueError) as exc:
                    raise GateKeyError(f"cannot read the key of the quiz passwords {path}: {exc}") from exc
            return self._fernet


def _create_key(path: Path) -> None:
    """Write a fresh key to `path` 0600, atomically and only if no other process (another node) made one first."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".gate-", suffix=".tmp")  # made 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key() + b"\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another node's key came first: it is the key
                os.link(temporary, path)
                logger.info("created the key of the quiz passwords %s", path)
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise GateKeyError(f"cannot create the key of the quiz passwords {path}: {exc}") from exc


class QuizGates:
    """An exam's quiz password: set and removed by its college, shown to its candidates in progress."""

    def __init__(self, store: SessionStore, cipher: GateCipher) -> None:
        self.store = store
        self.cipher = cipher

    def set(self, college_id: str, exam_id: str, password: str) -> None:
        """Keep the exam's quiz password (encrypted), replacing any earlier one; recorded in the ledger without it."""
        check_password(password)
        with self.store.write() as db:
            exam = college_exam(db, college_id, exam_id)
            if not self.cipher.exists() and self._others_kept(db, exam_id):
                raise self.cipher.missing()  # a new key would leave the kept passwords unreadable for good
            exam.gate_secret = self.cipher.encrypt(password)
            self._record(db, "quiz_gate", exam_id, {"exam": exam_id, "set": True})
        logger.info("exam %s: quiz password set", exam_id)

    def remove(self, college_id: str, exam_id: str) -> bool:
        """Forget the exam's quiz password; False when it had none (nothing recorded then)."""
        with self.store.write() as db:
            exam = college_exam(db, college_id, exam_id)
            if exam.gate_secret is None:
                return False
            exam.gate_secret = None
            self._record(db, "quiz_gate", exam_id, {"exam": exam_id, "set": False})
        logger.info("exam %s: quiz password removed", exam_id)
        return True

    def kept(self) -> int:
        """How many exams keep a quiz password (to say at start when their key is missing)."""
        with self.store.sessions() as db:
            return len(db.scalars(select(ExamRow.id).where(ExamRow.gate_secret.is_not(None))).all())

    def reveal(self, token: str, now: datetime | None = None) -> str:
        """The quiz password for the candidate of the session behind `token`, only while it is in progress (and
        the steps before it done); each showing is recorded in the ledger. TokenRefused, NoGate, GateClosed."""
        moment = now or datetime.now(UTC)
        with self.store.write() as db:
            row = session_of(db, token)
            exam = db.get(ExamRow, row.exam_id) if row is not None else None
            if row is None or exam is None:
                raise TokenRefused("this exam link is not valid")
            if exam.gate_secret is None:
                raise NoGate("this exam has no quiz password")
            self._in_progress(db, row, exam, moment)
            password = self.cipher.decrypt(exam.gate_secret)
            self._record(db, "quiz_gate_revealed", row.id, {"session": row.id, "exam": exam.id})
        logger.info("session %s: quiz password shown to the candidate", row.id)
        return password

    @staticmethod
    def _in_progress(db: Session, row: SessionRow, exam: ExamRow, moment: datetime) -> None:
        """GateClosed unless the session is in progress with every step the policy asks for behind it."""
        status = Status(row.status)
        if status in BEFORE:
            raise GateClosed(
                "the quiz password is shown once the exam is in progress: accept the terms, then pass the identity "
                "check and the room scan"
            )
        if status != Status.IN_PROGRESS:
            raise GateClosed(f"the exam session is over ({status.value}): the quiz password is no longer shown")
        closes = exam.closes_at
        if closes is not None and as_utc(closes) <= moment:
            raise GateClosed(f"the exam closed at {closes.isoformat()}: the quiz password is no longer shown")
        # the live session moves on only after each step (web/live/session.py); checked here all the same
        if row.consent != "accepted":
            raise GateClosed("the candidate has not accepted the proctoring terms")
        if row.identity is None:
            raise GateClosed("the identity check is not done")
        if policy_from_dict(exam.policy).room_scan.pre_exam:
            scanned = db.scalar(
                select(
                    exists().where(
                        TransitionRow.session_id == row.id,
                        TransitionRow.from_status == Status.ROOM_SCAN.value,
                        TransitionRow.to_status == Status.IN_PROGRESS.value,
                    )
                )
            )
            if not scanned:
                raise GateClosed("the room scan is not done")

    @staticmethod
    def _others_kept(db: Session, exam_id: str) -> bool:
        found = db.scalar(select(exists().where(ExamRow.gate_secret.is_not(None), ExamRow.id != exam_id)))
        return bool(found)

    def _record(self, db: Session, kind: str, subject: str, payload: dict[str, object]) -> None:
        """A ledger record (its id unique without counting: two requests at once never take the same one)."""
        self.store.ledger.append(db, kind, f"{subject}/{secrets.token_hex(8)}", payload)
