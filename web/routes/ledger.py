"""Ledger endpoints: signed checkpoints, the public verifier keys (the current one, and every one with its validity),
inclusion and consistency proofs.

With the verifier key alone a client checks a checkpoint's signature; with the checkpoint's root it
checks that a record is in the log. The ledger is one log for the whole platform, so what it serves
publicly reveals only hashes: a proof by `leafHash` is open to anyone who holds the record, while a
proof by `statementId` carries the statement itself (the leaf) and goes only to the college that owns it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from footprint.ledger import CheckpointError, Ledger, LedgerError
from footprint.ledger.history import KeyHistory, read_history
from footprint.ledger.merkle import HASH_SIZE
from footprint.xapi.errors import BadRequest, NotFound
from footprint.xapi.queries import statement_ledger_index
from web.auth import StatementReaderKey, unauthorized
from web.deps import ServicesDep, SessionDep

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/ledger", tags=["ledger"])


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(services: ServicesDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP signed note); signs a fresh one first if the log has grown."""
    with services.writing() as session:
        signed = services.ledger.checkpoint(session)
    return PlainTextResponse(signed.note)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(services: ServicesDep) -> PlainTextResponse:
    """The signed-note verifier key (`name+keyid+base64key`) that signs new checkpoints; after a key rotation the
    checkpoints signed before check with the keys of /ledger/keys."""
    signer = services.ledger.signer
    if signer is None:
        raise NotFound("this server has no ledger signing key")
    return PlainTextResponse(signer.verifier + "\n")


@router.get("/keys")
def keys(services: ServicesDep, session: SessionDep) -> JSONResponse:
    """Every verifier key the ledger has signed with, oldest first, with its validity: the tree sizes of the
    checkpoints it may sign (`firstTreeSize`..`lastTreeSize`, null: the current key) and when it signed. Saved to a
    file, it is what `footprint verify … --public-key` and `footprint audit --public-key` take to check each
    checkpoint under the key of its time."""
    try:
        history = read_history(services.settings.key_file)
    except CheckpointError as exc:  # the reason names server paths: logged, not served
        logger.error("cannot publish the ledger's key history: %s", exc)
        raise NotFound("the ledger's key history cannot be read") from exc
    if history is None:  # never rotated: the one key there is
        signer = services.ledger.signer
        if signer is None:
            raise NotFound("this server has no ledger signing key")
        history = KeyHistory.single(signer.verifier, services.ledger.signed_since(session))
    return JSONResponse(history.to_json())


def _leaf_param(value: str) -> bytes:
    """A leaf hash given as 64 hex digits or as base64 of its 32 bytes."""
    text = value.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 2 * HASH_SIZE else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("leafHash must be 64 hex digits or the base64 of 32 bytes") from exc
    if len(raw) != HASH_SIZE:
        raise BadRequest("leafHash must be a SHA-256 hash (32 bytes)")
    return raw


def _proof(ledger: Ledger, session: Session, index: int, tree_size: int | None) -> dict[str, Any]:
    size = ledger.size(session)
    wanted = size if tree_size is None else tree_size
    if not index < wanted <= size:
        raise BadRequest(f"treeSize must lie in {index + 1}..{size}")
    return ledger.inclusion_proof(session, index, wanted).to_json()


@router.get("/proof/inclusion")
def inclusion(
    services: ServicesDep,
    session: SessionDep,
    credential: StatementReaderKey,
    statement_id: str | None = Query(None, alias="statementId", description="One of your college's statements."),
    leaf_hash: str | None = Query(None, alias="leafHash", description="SHA-256 leaf hash, hex or base64."),
    tree_size: int | None = Query(None, alias="treeSize", ge=1),
) -> JSONResponse:
    """Audit path of a leaf in the tree of `treeSize` leaves (default: the whole log).

    By `statementId` (your college's key needed) the answer carries the leaf: base64 of the statement's
    RFC 8785 bytes. By `leafHash` (no key needed) it carries only hashes.
    """
    ledger = services.ledger
    if (statement_id is None) == (leaf_hash is None):
        raise BadRequest("give either statementId or leafHash")
    if leaf_hash is not None:
        leaf = _leaf_param(leaf_hash)
        index = ledger.index_of_leaf(session, leaf)
        if index is None:
            raise NotFound("no leaf with this hash is in the ledger")
        body = _proof(ledger, session, index, tree_size) | {"leafHash": base64.b64encode(leaf).decode()}
        return JSONResponse(body)
    if credential is None:
        raise unauthorized("a proof by statementId carries the statement: send your college's key")
    found = statement_ledger_index(session, credential.college_id, statement_id or "")
    entry = ledger.entry_at(session, found) if found is not None else None
    if entry is None:
        raise NotFound(f"statement {statement_id} is not in your college's store")
    body = _proof(ledger, session, entry.index, tree_size) | {
        "statementId": (statement_id or "").lower(),
        "leaf": base64.b64encode(entry.payload).decode(),
        "leafHash": base64.b64encode(entry.leaf_hash).decode(),
    }
    return JSONResponse(body)


@router.get("/proof/consistency")
def consistency(
    services: ServicesDep, session: SessionDep, first: int = Query(ge=0), second: int | None = Query(None, ge=0)
) -> JSONResponse:
    """Proof that the log of `first` leaves is a prefix of the log of `second` leaves (default: now)."""
    size = services.ledger.size(session)
    last = size if second is None else second
    if not first <= last <= size:
        raise BadRequest(f"need 0 <= first <= second <= {size}")
    try:
        proof = services.ledger.consistency_proof(session, first, last)
    except LedgerError as exc:
        raise BadRequest(str(exc)) from exc
    return JSONResponse(proof.to_json())
