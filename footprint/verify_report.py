"""Offline verification of an evidence bundle (`footprint verify report`): signature, proofs, recomputation.

Input that is not a bundle raises `BadInput` (exit 2); a bundle whose signature, proofs or figures do not
hold raises `VerificationFailed` (exit 1), naming the first figure that differs.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from footprint.accounts import college_of_statement
from footprint.catalogue.index import CatalogueIndex, epoch
from footprint.catalogue.model import Catalogue
from footprint.catalogue.store import ledger_record
from footprint.compliance.rules import rules_digest
from footprint.evidence import FORMAT
from footprint.facts.columns import facts_from_statements
from footprint.indicators import INDICATOR_VERSION
from footprint.indicators.period import Period
from footprint.ledger.checkpoint import Checkpoint, CheckpointError, SignatureError
from footprint.ledger.entries import LedgerError, canonical
from footprint.ledger.history import Verifier, verify_checkpoint
from footprint.ledger.merkle import InclusionProof, ProofError, leaf_hash, verify_inclusion
from footprint.recompute import Scope, UnknownScope, recompute
from footprint.reports import jsonable
from footprint.verify import BadInput, VerificationFailed
from footprint.xapi.errors import XAPIError
from footprint.xapi.validate import validate_statement

MAX_DIFFERENCES = 5


@dataclass(frozen=True)
class ReportVerdict:
    """A verified bundle: what it is about, at which checkpoint, from how many proven statements."""

    checkpoint: Checkpoint
    scope: str
    """`indicators`, `compliance` or `weather-day`, and of what: `compliance learner`, `indicators group` …"""
    item: str
    catalogue_version: int
    statements: int


def signed_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    try:
        return verify_checkpoint(note, verifier)
    except SignatureError as exc:
        raise VerificationFailed(f"checkpoint: {exc}") from exc
    except CheckpointError as exc:
        raise BadInput(f"checkpoint: {exc}") from exc


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BadInput(f"the bundle lacks {'.'.join(path)}")
        value = value[key]
    return value


def _prove(record: Any, proof_json: Any, checkpoint: Checkpoint, what: str) -> None:
    try:
        leaf = leaf_hash(canonical(record))
        proof = InclusionProof.from_json(proof_json)
    except (LedgerError, ProofError) as exc:
        raise BadInput(f"{what}: {exc}") from exc
    if proof.tree_size != checkpoint.tree_size:
        raise VerificationFailed(
            f"{what}: the proof is for tree size {proof.tree_size}, the checkpoint's is {checkpoint.tree_size}"
        )
    try:
        verify_inclusion(proof, leaf, checkpoint.root_hash)
    except ProofError as exc:
        raise VerificationFailed(f"{what} is not in the log at this checkpoint: {exc}") from exc


def differences(expected: Any, found: Any, path: str = "report") -> list[str]:
    """Where two JSON values differ (the first few paths)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(found)):
            out += differences(expected.get(key), found.get(key), f"{path}.{key}")
        return out[:MAX_DIFFERENCES]
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        out = []
        for number, (a, b) in enumerate(zip(expected, found, strict=True)):
            out += differences(a, b, f"{path}[{number}]")
        return out[:MAX_DIFFERENCES]
    return [] if expected == found else [f"{path}: the bundle says {found!r}, recomputed {expected!r}"]


def _period(basis: Any) -> Period:
    try:
        since = datetime.fromisoformat(_get(basis, "period", "since").replace("Z", "+00:00"))
        until = datetime.fromisoformat(_get(basis, "period", "until").replace("Z", "+00:00"))
        return Period(epoch(since), epoch(until))
    except (ValueError, AttributeError) as exc:
        raise BadInput(f"the bundle's period is not two ISO 8601 times: {exc}") from exc


def _statement(item: Any, number: int, college: str, checkpoint: Checkpoint) -> dict[str, Any]:
    """A proven statement of the bundle's college (exit 2 for a leaf that is no statement, 1 for another college's)."""
    statement = _get(item, "statement")
    what = f"statement {number} ({statement.get('id') if isinstance(statement, dict) else '?'})"
    _prove(statement, _get(item, "proof"), checkpoint, what)
    try:
        version = statement.get("version", "") if isinstance(statement, dict) else ""
        validate_statement(statement, "2.0.0" if str(version).startswith("2") else "1.0.3")
    except XAPIError as exc:
        raise BadInput(f"{what} is in the log but is not an xAPI statement: {exc}") from exc
    if "timestamp" not in statement:
        raise BadInput(f"{what} has no timestamp: it is not a statement as the platform stores them")
    owner = college_of_statement(statement)
    if owner != college:
        raise VerificationFailed(
            f"{what} is not a statement of college {college} (it belongs to {owner or 'no college'})"
        )
    return dict(statement)


def _scope(bundle: Any) -> Scope:
    scope = _get(bundle, "scope")
    values = [_get(bundle, "scope", key) for key in ("report", "kind", "id")]
    if not all(isinstance(value, str) for value in values) or not isinstance(scope, dict):
        raise BadInput("the bundle's scope names a report, a kind and an id")
    return Scope(*values)


def check_report(bundle: Any, verifier: Verifier) -> ReportVerdict:
    """Verify an evidence bundle with the ledger's public key (or its key history) alone."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BadInput(f"not an evidence bundle (format {FORMAT})")
    basis = _get(bundle, "basis")
    checkpoint = signed_checkpoint(str(_get(basis, "checkpoint", "note")), verifier)
    if (_get(basis, "checkpoint", "treeSize"), _get(basis, "checkpoint", "rootHash")) != (
        checkpoint.tree_size,
        base64.b64encode(checkpoint.root_hash).decode(),
    ):
        raise VerificationFailed("the report names another tree size or root hash than its signed checkpoint")
    if _get(basis, "indicatorVersion") != INDICATOR_VERSION:
        raise VerificationFailed(
            f"the report was computed by indicator version {basis['indicatorVersion']}; "
            f"this verifier is version {INDICATOR_VERSION}"
        )
    if _get(basis, "rules", "sha256") != rules_digest():
        raise VerificationFailed(
            f"the report was computed with rule tables {basis['rules']['sha256']}; this verifier has {rules_digest()}"
        )
    college = str(_get(bundle, "college"))
    document = _get(bundle, "catalogue", "document")
    try:
        catalogue = Catalogue.model_validate(document)
    except ValidationError as exc:
        raise BadInput(f"the bundle's catalogue is not a catalogue: {exc.errors()[0]['msg']}") from exc
    digest = hashlib.sha256(canonical(document)).hexdigest()
    version = _get(basis, "catalogue", "version")
    record = ledger_record(college, version, digest)
    if _get(basis, "catalogue", "sha256") != digest or _get(bundle, "catalogue", "record") != record:
        raise VerificationFailed("the catalogue's SHA-256 is not the one its ledger record names")
    _prove(record, _get(bundle, "catalogue", "proof"), checkpoint, f"catalogue version {version}")
    items = _get(bundle, "statements")
    if not isinstance(items, list):
        raise BadInput("the bundle's statements must be a list")
    statements = [_statement(item, number, college, checkpoint) for number, item in enumerate(items)]
    scope = _scope(bundle)
    try:
        recomputed = jsonable(
            recompute(CatalogueIndex(catalogue), facts_from_statements(statements, college), scope, _period(basis))
        )
    except UnknownScope as exc:
        raise BadInput(f"the bundle's scope: {exc}") from exc
    found = differences(recomputed, _get(bundle, "report"))
    if found:
        raise VerificationFailed("the figures do not follow from the statements: " + "; ".join(found))
    return ReportVerdict(checkpoint, f"{scope.report} {scope.kind}", scope.id, int(version), len(statements))
