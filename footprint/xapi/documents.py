"""State, Activity Profile and Agent Profile documents with ETags and the spec's concurrency rules.

Documents are the mutable part of xAPI: PUT replaces, POST merges JSON objects (top-level keys),
DELETE removes. Preconditions: a failed If-Match / If-None-Match is 412; a PUT over an existing
profile document without either header is 409 (the client may be about to overwrite a change).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from footprint import jsonlimits
from footprint.xapi.errors import BadRequest, Conflict, PreconditionFailed
from footprint.xapi.statements import format_stored
from footprint.xapi.tables import DocumentRow, table

DOCUMENTS = table(DocumentRow)
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class DocumentScope:
    """Which documents: the owning college, the kind ("state", "activity_profile", "agent_profile") and
    its keys ('' when unused)."""

    college_id: str
    kind: str
    activity_id: str = ""
    agent_key: str = ""
    registration: str = ""

    def where(self) -> list[Any]:
        return [
            DOCUMENTS.c.college_id == self.college_id,
            DOCUMENTS.c.kind == self.kind,
            DOCUMENTS.c.activity_id == self.activity_id,
            DOCUMENTS.c.agent_key == self.agent_key,
            DOCUMENTS.c.registration == self.registration,
        ]


@dataclass(frozen=True)
class Document:
    """A stored document."""

    content_type: str
    content: bytes
    etag: str
    updated: str


@dataclass(frozen=True)
class Preconditions:
    """The request's If-Match / If-None-Match values (unquoted ETags or '*')."""

    if_match: tuple[str, ...] = ()
    if_none_match: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        return bool(self.if_match or self.if_none_match)


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def get_document(session: Session, scope: DocumentScope, document_id: str) -> Document | None:
    """One document, or None."""
    row = session.execute(select(DOCUMENTS).where(*scope.where(), DOCUMENTS.c.document_id == document_id)).first()
    return None if row is None else Document(row.content_type, row.content, row.etag, row.updated)


def document_ids(session: Session, scope: DocumentScope, since: str | None = None) -> list[str]:
    """Ids of the documents in scope, optionally only those updated after `since` (stored format)."""
    query = select(DOCUMENTS.c.document_id).where(*scope.where())
    if since is not None:
        query = query.where(DOCUMENTS.c.updated > since)
    return list(session.execute(query.order_by(DOCUMENTS.c.document_id)).scalars())


def _check(current: Document | None, pre: Preconditions) -> None:
    if pre.if_match and (current is None or not ({"*", current.etag} & set(pre.if_match))):
        raise PreconditionFailed("If-Match does not match the current document")
    if pre.if_none_match and current is not None and ({"*", current.etag} & set(pre.if_none_match)):
        raise PreconditionFailed("If-None-Match: the document exists")


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == JSON_TYPE


def _json_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        value = jsonlimits.loads(content, what)
    except jsonlimits.JSONLimitError as exc:
        raise BadRequest(str(exc)) from exc
    if not isinstance(value, dict):
        raise BadRequest(f"{what} is not a JSON object")
    return value


def _bounded(content: bytes) -> None:
    """A JSON document put as it is: kept byte for byte, but not when too deep or holding NUL (PUT
    stores any content, so a body that is not JSON at all is kept as it came)."""
    try:
        jsonlimits.loads(content, "the document")
    except jsonlimits.JSONLimitError as exc:
        if exc.reason != "invalid":
            raise BadRequest(str(exc)) from exc


def save_document(
    session: Session,
    scope: DocumentScope,
    document_id: str,
    content: bytes,
    content_type: str,
    pre: Preconditions,
    *,
    merge: bool,
    require_precondition: Literal["never", "existing", "always"],
) -> Document:
    """PUT (replace) or POST (merge) a document, enforcing the concurrency rules.

    `require_precondition` says when a PUT must carry If-Match/If-None-Match: never, only over an
    existing document (409 without), or always (profiles in the conformance suite: 400 for a new one).
    """
    current = get_document(session, scope, document_id)
    _check(current, pre)
    if merge:
        if current is not None:
            if not (_is_json(content_type) and _is_json(current.content_type)):
                raise BadRequest("POST merges JSON documents only; use PUT to replace other content")
            merged = {**_json_object(current.content, "the stored document"), **_json_object(content, "the body")}
            content = json.dumps(merged, ensure_ascii=False).encode()
        elif _is_json(content_type):
            _json_object(content, "the body")
    else:
        if _is_json(content_type):
            _bounded(content)
        if require_precondition != "never" and not pre.given:
            if current is not None:
                raise Conflict("the document exists: send If-Match with its ETag to replace it")
            if require_precondition == "always":
                raise BadRequest("send If-None-Match: * to create this document (or If-Match to replace one)")
    now = format_stored(datetime.now(UTC))
    document = Document(content_type or "application/octet-stream", content, etag_of(content), now)
    values = {
        "content_type": document.content_type,
        "content": document.content,
        "etag": document.etag,
        "updated": document.updated,
    }
    if current is None:
        keys = {"college_id": scope.college_id, "kind": scope.kind, "activity_id": scope.activity_id}
        keys |= {"agent_key": scope.agent_key}
        keys |= {"registration": scope.registration, "document_id": document_id}
        session.execute(insert(DOCUMENTS).values(**keys, **values))
    else:
        session.execute(update(DOCUMENTS).where(*scope.where(), DOCUMENTS.c.document_id == document_id).values(values))
    return document


def delete_document(session: Session, scope: DocumentScope, document_id: str | None, pre: Preconditions) -> None:
    """Delete one document (with preconditions) or, without an id, every document in scope (State only)."""
    if document_id is None:
        session.execute(delete(DOCUMENTS).where(*scope.where()))
        return
    _check(get_document(session, scope, document_id), pre)
    session.execute(delete(DOCUMENTS).where(*scope.where(), DOCUMENTS.c.document_id == document_id))
