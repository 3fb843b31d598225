"""Ledger endpoints: signed checkpoints, the public verifier key, inclusion and consistency proofs.

With the verifier key alone a client checks a checkpoint's signature; with the checkpoint's root it
checks that a statement (the leaf: RFC 8785 JSON of the stored statement) is in the log.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from footprint.ledger import LedgerError
from footprint.xapi.errors import BadRequest, NotFound
from footprint.xapi.statements import LEDGER_KIND
from web.auth import CredentialDep
from web.deps import ServicesDep, SessionDep

router = APIRouter(prefix="/ledger", tags=["ledger"])


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(services: ServicesDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP signed note); signs a fresh one first if the log has grown."""
    with services.writing() as session:
        signed = services.ledger.checkpoint(session)
    return PlainTextResponse(signed.note)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(services: ServicesDep) -> PlainTextResponse:
    """The signed-note verifier key (`name+keyid+base64key`) that checks every checkpoint."""
    signer = services.ledger.signer
    if signer is None:
        raise NotFound("this server has no ledger signing key")
    return PlainTextResponse(signer.verifier + "\n")


@router.get("/proof/inclusion")
def inclusion(
    services: ServicesDep,
    session: SessionDep,
    _credential: CredentialDep,
    statement_id: str = Query(alias="statementId"),
    tree_size: int | None = Query(None, alias="treeSize", ge=1),
) -> JSONResponse:
    """Audit path of a statement's leaf in the tree of `treeSize` leaves (default: the whole log), with the leaf."""
    entry = services.ledger.entry_for(session, LEDGER_KIND, statement_id.lower())
    if entry is None:
        raise NotFound(f"statement {statement_id} is not in the ledger")
    size = services.ledger.size(session) if tree_size is None else tree_size
    if size <= entry.index or size > services.ledger.size(session):
        raise BadRequest(f"treeSize must lie in {entry.index + 1}..{services.ledger.size(session)}")
    proof = services.ledger.inclusion_proof(session, entry.index, size)
    body: dict[str, Any] = proof.to_json()
    body |= {
        "statementId": entry.record_id,
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
