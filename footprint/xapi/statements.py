"""Storing statements: validation, ids, `stored`/`authority`, idempotency, voiding and the ledger append.

Everything a batch writes (statements, their index rows, voids, attachments, ledger entries) goes
into the caller's transaction, so a statement is stored if and only if its ledger leaf is. Every
statement belongs to one college: ids, conflicts, voiding and StatementRef targets are resolved
within that college only, and its ledger record is `COLLEGE/STATEMENT_ID`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from footprint.facts.project import record_facts
from footprint.ledger import Ledger, Record
from footprint.xapi.canonical import actor_keys, same_statement
from footprint.xapi.errors import BadRequest, Conflict
from footprint.xapi.parts import Attachment
from footprint.xapi.signatures import check_signature
from footprint.xapi.tables import (
    DIRECT,
    RELATED,
    ActivityRow,
    AttachmentRow,
    StatementKeyRow,
    StatementRow,
    VoidRow,
    table,
)
from footprint.xapi.validate import VOIDED, validate_statement

LEDGER_KIND = "xapi.statement"
STATEMENTS = table(StatementRow)
KEYS = table(StatementKeyRow)
ACTIVITIES = table(ActivityRow)
VOIDS = table(VoidRow)


def format_stored(moment: datetime) -> str:
    """The fixed-width UTC form of `stored` (sorts as text, so `since`/`until` compare as strings)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Prepared:
    """A validated statement as it will be stored, with the keys that index it."""

    statement: dict[str, Any]
    given_timestamp: bool = True
    keys: dict[str, int] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_key(self, key: str, relation: int) -> None:
        """Index the statement under `key`; the closest relation wins."""
        self.keys[key] = min(relation, self.keys.get(key, relation))

    @property
    def id(self) -> str:
        return str(self.statement["id"])

    @property
    def voids(self) -> str | None:
        if self.statement["verb"]["id"] == VOIDED:
            return str(self.statement["object"]["id"]).lower()
        return None

    @property
    def target(self) -> str | None:
        """The id of the statement this one refers to (StatementRef object), if any."""
        target = self.statement["object"]
        return str(target["id"]).lower() if target.get("objectType") == "StatementRef" else None


def _arrays(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement with every contextActivities value as an array (the stored form), substatement included."""
    out = dict(statement)
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        activities = {k: v if isinstance(v, list) else [v] for k, v in context["contextActivities"].items()}
        out["context"] = {**context, "contextActivities": activities}
    target = out.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        out["object"] = _arrays(target)
    return out


def _activities(statement: Mapping[str, Any], relation: int) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    target = statement["object"]
    kind = target.get("objectType", "Activity")
    if kind == "Activity":
        yield target["id"], relation, target
    elif kind == "SubStatement":
        yield from _activities(target, RELATED)
    context = statement.get("context", {})
    for entries in context.get("contextActivities", {}).values():
        for entry in entries if isinstance(entries, list) else [entries]:
            yield entry["id"], RELATED, entry


def _agents(statement: Mapping[str, Any], relation: int) -> Iterator[tuple[str, int]]:
    for key in actor_keys(statement["actor"]):
        yield key, relation
    target = statement["object"]
    if target.get("objectType") in ("Agent", "Group"):
        for key in actor_keys(target):
            yield key, relation
    elif target.get("objectType") == "SubStatement":
        yield from _agents(target, RELATED)
    context = statement.get("context", {})
    others = [context.get("instructor"), context.get("team"), statement.get("authority")]
    others += [entry.get("agent") for entry in context.get("contextAgents", [])]
    others += [entry.get("group") for entry in context.get("contextGroups", [])]
    for other in others:
        if isinstance(other, Mapping):
            for key in actor_keys(other):
                yield key, RELATED


def prepare(
    raw: Any, *, authority: Mapping[str, Any], version: str, stored: str, statement_id: str | None = None
) -> Prepared:
    """Validate one statement and complete it as stored: id, stored, authority, version, timestamp."""
    validate_statement(raw, version)
    statement = _arrays(raw)
    if statement_id is not None:
        if "id" in statement and statement["id"].lower() != statement_id.lower():
            raise BadRequest("the statement's id differs from the statementId parameter")
        statement["id"] = statement_id
    statement["id"] = str(statement.get("id") or uuid.uuid4()).lower()
    statement["stored"] = stored
    given_timestamp = "timestamp" in statement
    statement.setdefault("timestamp", stored)
    statement["authority"] = dict(authority)
    statement["version"] = statement.get("version") or ("2.0.0" if version.startswith("2") else "1.0.0")
    prepared = Prepared(statement, given_timestamp)
    prepared.add_key(f"verb:{statement['verb']['id']}", DIRECT)
    registration = statement.get("context", {}).get("registration")
    if registration:
        prepared.add_key(f"registration:{registration.lower()}", DIRECT)
    for key, relation in _agents(statement, DIRECT):
        prepared.add_key(f"agent:{key}", relation)
    for activity_id, relation, activity in _activities(statement, DIRECT):
        prepared.add_key(f"activity:{activity_id}", relation)
        if "definition" in activity:
            prepared.definitions[activity_id] = merge_definitions(
                prepared.definitions.get(activity_id, {}), activity["definition"]
            )
    return prepared


def merge_definitions(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """An activity definition updated by a newer one; language maps and extensions are merged."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class StoreResult:
    """Ids of a POSTed batch in request order, and how many were new (the rest were idempotent repeats)."""

    ids: list[str]
    created: int


def ledger_record_id(college_id: str, statement_id: str) -> str:
    """The ledger record id of a college's statement (statement ids are unique per college only)."""
    return f"{college_id}/{statement_id}"


def store_statements(
    session: Session,
    ledger: Ledger,
    raw_statements: Sequence[Any],
    *,
    college_id: str,
    authority: Mapping[str, Any],
    version: str,
    attachments: Sequence[Attachment] = (),
    statement_id: str | None = None,
) -> StoreResult:
    """Validate and store a college's batch in the caller's transaction; raises BadRequest/Conflict/InvalidStatement."""
    stored = format_stored(datetime.now(UTC))
    batch = [
        prepare(raw, authority=authority, version=version, stored=stored, statement_id=statement_id)
        for raw in raw_statements
    ]
    ids = [p.id for p in batch]
    if len(set(ids)) != len(ids):
        raise BadRequest("the batch holds the same statement id more than once")
    _check_attachments(batch, attachments)
    for raw in raw_statements:
        check_signature(raw, attachments)
    existing = {
        row.statement_id: row.payload
        for row in session.execute(
            select(STATEMENTS.c.statement_id, STATEMENTS.c.payload).where(
                STATEMENTS.c.college_id == college_id, STATEMENTS.c.statement_id.in_(ids)
            )
        )
    }
    fresh: list[Prepared] = []
    for prepared in batch:
        if prepared.id in existing:
            if not _same(json.loads(existing[prepared.id]), prepared):
                raise Conflict(f"statement {prepared.id} already exists with different content")
        else:
            fresh.append(prepared)
    _check_voiding(session, college_id, fresh)
    if fresh:
        _insert(session, ledger, college_id, fresh, attachments)
    return StoreResult(ids, len(fresh))


def _same(stored: dict[str, Any], prepared: Prepared) -> bool:
    """Whether a re-sent statement is the stored one; a timestamp the store filled in is not compared."""
    incoming = prepared.statement
    if not prepared.given_timestamp and stored.get("timestamp") == stored.get("stored"):
        stored = {k: v for k, v in stored.items() if k != "timestamp"}
        incoming = {k: v for k, v in incoming.items() if k != "timestamp"}
    return same_statement(stored, incoming)


def _check_attachments(batch: Sequence[Prepared], parts: Sequence[Attachment]) -> None:
    declared = {
        a["sha2"].lower()
        for p in batch
        for a in p.statement.get("attachments", [])
        if "fileUrl" not in a or a["sha2"].lower() in {part.sha2 for part in parts}
    }
    given = {part.sha2 for part in parts}
    missing = declared - given
    if missing:
        raise BadRequest(f"attachment content missing for sha2 {', '.join(sorted(missing))}")
    extra = given - {a["sha2"].lower() for p in batch for a in p.statement.get("attachments", [])}
    if extra:
        raise BadRequest(f"attachment parts not declared by any statement: {', '.join(sorted(extra))}")


def _check_voiding(session: Session, college_id: str, batch: Sequence[Prepared]) -> None:
    targets = {p.voids for p in batch if p.voids}
    if not targets:
        return
    voiding_in_batch = {p.id for p in batch if p.voids}
    stored_voiding = set(
        session.execute(
            select(STATEMENTS.c.statement_id).where(
                STATEMENTS.c.college_id == college_id,
                STATEMENTS.c.statement_id.in_(targets),
                STATEMENTS.c.voids.is_not(None),
            )
        ).scalars()
    )
    bad = targets & (voiding_in_batch | stored_voiding)
    if bad:
        raise BadRequest(f"a voiding statement cannot be voided: {', '.join(sorted(bad))}")


def _inherited_keys(session: Session, college_id: str, batch: Sequence[Prepared]) -> None:
    """Give statements that target another statement (StatementRef) the filter keys of their target."""
    targets = {p.target for p in batch if p.target}
    if not targets:
        return
    found: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(STATEMENTS.c.statement_id, KEYS.c.key, KEYS.c.relation)
        .join(KEYS, KEYS.c.seq == STATEMENTS.c.seq)
        .where(STATEMENTS.c.college_id == college_id, STATEMENTS.c.statement_id.in_(targets))
    )
    for row in rows:
        found.setdefault(row.statement_id, {})[row.key] = row.relation
    earlier: dict[str, Prepared] = {}
    for prepared in batch:
        target = prepared.target
        inherited = found.get(target, {}) if target else {}
        if target in earlier:
            inherited = earlier[target].keys
        for key, relation in list(inherited.items()):
            prepared.add_key(key, relation)
        earlier[prepared.id] = prepared


def _insert(
    session: Session, ledger: Ledger, college_id: str, batch: Sequence[Prepared], attachments: Sequence[Attachment]
) -> None:
    _inherited_keys(session, college_id, batch)
    entries = ledger.append_many(
        session, [Record(LEDGER_KIND, ledger_record_id(college_id, p.id), p.statement) for p in batch]
    )
    rows = [
        {
            "college_id": college_id,
            "statement_id": p.id,
            "stored": p.statement["stored"],
            "voids": p.voids,
            "payload": json.dumps(p.statement, ensure_ascii=False, separators=(",", ":")),
            "ledger_index": entry.index,
        }
        for p, entry in zip(batch, entries, strict=True)
    ]
    seqs = session.execute(insert(STATEMENTS).returning(STATEMENTS.c.seq, sort_by_parameter_order=True), rows)
    seq_list = [int(seq) for seq in seqs.scalars()]
    key_rows = [
        {"college_id": college_id, "key": key, "seq": seq, "relation": relation}
        for p, seq in zip(batch, seq_list, strict=True)
        for key, relation in p.keys.items()
    ]
    session.execute(insert(KEYS), key_rows)
    stored = zip(seq_list, (entry.index for entry in entries), (p.statement for p in batch), strict=True)
    record_facts(session, college_id, list(stored))  # the indicators' projection, in the same transaction
    voids = [{"college_id": college_id, "voided_id": p.voids, "voiding_id": p.id} for p in batch if p.voids]
    if voids:
        _upsert(session, VOIDS, voids, ["college_id", "voided_id"], update=False)
    _save_definitions(session, college_id, batch)
    if attachments:
        parts: list[dict[str, Any]] = [
            {"college_id": college_id, "sha2": a.sha2, "content_type": a.content_type, "content": a.content}
            for a in attachments
        ]
        _upsert(session, table(AttachmentRow), parts, ["college_id", "sha2"], update=False)


def _save_definitions(session: Session, college_id: str, batch: Sequence[Prepared]) -> None:
    definitions: dict[str, dict[str, Any]] = {}
    for prepared in batch:
        for key, definition in prepared.definitions.items():
            definitions[key] = merge_definitions(definitions.get(key, {}), definition)
    if not definitions:
        return
    stored = session.execute(
        select(ACTIVITIES.c.activity_id, ACTIVITIES.c.definition).where(
            ACTIVITIES.c.college_id == college_id, ACTIVITIES.c.activity_id.in_(definitions)
        )
    )
    for row in stored:
        definitions[row.activity_id] = merge_definitions(json.loads(row.definition), definitions[row.activity_id])
    values = [
        {"college_id": college_id, "activity_id": k, "definition": json.dumps(d, ensure_ascii=False)}
        for k, d in definitions.items()
    ]
    _upsert(session, ACTIVITIES, values, ["college_id", "activity_id"], update=True)


def _upsert(session: Session, target: Any, values: list[dict[str, Any]], keys: list[str], *, update: bool) -> None:
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(target)
    if update:
        columns = {c: statement.excluded[c] for c in values[0] if c not in keys}
        statement = statement.on_conflict_do_update(index_elements=keys, set_=columns)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    session.execute(statement, values)
