"""Strict, pure validation of xAPI 1.0.3 and 2.0.0 statements.

`validate_statement` raises InvalidStatement with the JSON path and the rule broken; it never
changes its input. The store calls it before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from footprint.xapi.checks import (
    IFIS,
    actor,
    agent,
    boolean,
    duration,
    extensions,
    fail,
    group,
    iri,
    keys,
    language_map,
    language_tag,
    number,
    obj,
    required,
    string,
    timestamp,
    uuid,
)

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
STATEMENT_KEYS = frozenset(
    {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"}
)
SUBSTATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
CONTEXT_KEYS = frozenset(
    {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement"}
    | {"extensions"}
)
CONTEXT_KEYS_2 = CONTEXT_KEYS | {"contextAgents", "contextGroups"}
DEFINITION_KEYS = frozenset(
    {"name", "description", "type", "moreInfo", "extensions", "interactionType", "correctResponsesPattern"}
    | {"choices", "scale", "source", "target", "steps"}
)
INTERACTION_COMPONENTS = {
    "choice": {"choices"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "matching": {"source", "target"},
    "performance": {"steps"},
    "true-false": set(),
    "fill-in": set(),
    "long-fill-in": set(),
    "numeric": set(),
    "other": set(),
}
ALL_COMPONENTS = {"choices", "scale", "source", "target", "steps"}
VERSION_1 = re.compile(r"^1\.0(\.\d+)?$")
VERSION_2 = re.compile(r"^(1\.0(\.\d+)?|2\.0(\.\d+)?)$")


def validate_statement(statement: Any, version: str = "1.0.3", path: str = "statement") -> None:
    """Check one statement against the specification of the given xAPI version (1.0.3 or 2.0.0)."""
    item = obj(statement, path)
    keys(item, STATEMENT_KEYS, path)
    required(item, ("actor", "verb", "object"), path)
    if "id" in item:
        uuid(item["id"], f"{path}.id")
    _statement_body(item, version, path, sub=False)
    if "stored" in item:
        timestamp(item["stored"], f"{path}.stored")
    if "authority" in item:
        _authority(item["authority"], f"{path}.authority")
    if "version" in item:
        pattern = VERSION_2 if version.startswith("2") else VERSION_1
        if not isinstance(item["version"], str) or not pattern.match(item["version"]):
            raise fail(f"{path}.version", f"must be a supported xAPI version, not {item['version']!r}")


def _statement_body(item: Mapping[str, Any], version: str, path: str, *, sub: bool) -> None:
    actor(item["actor"], f"{path}.actor")
    verb = _verb(item["verb"], f"{path}.verb")
    target = obj(item["object"], f"{path}.object")
    object_type = target.get("objectType", "Activity")
    if object_type == "Activity":
        activity(target, f"{path}.object")
    elif object_type == "Agent":
        agent(target, f"{path}.object")
    elif object_type == "Group":
        group(target, f"{path}.object")
    elif object_type == "StatementRef":
        statement_ref(target, f"{path}.object")
    elif object_type == "SubStatement" and not sub:
        _substatement(target, version, f"{path}.object")
    else:
        raise fail(f"{path}.object.objectType", f"{object_type!r} is not allowed here")
    if verb == VOIDED and object_type != "StatementRef":
        raise fail(f"{path}.object", "a voiding statement's object must be a StatementRef")
    if "result" in item:
        _result(item["result"], f"{path}.result")
    if "context" in item:
        _context(item["context"], version, object_type, f"{path}.context")
    if "timestamp" in item:
        timestamp(item["timestamp"], f"{path}.timestamp")
    if "attachments" in item:
        attachments(item["attachments"], f"{path}.attachments")


def _verb(value: Any, path: str) -> str:
    verb = obj(value, path)
    keys(verb, {"id", "display"}, path)
    required(verb, ("id",), path)
    if "display" in verb:
        language_map(verb["display"], f"{path}.display")
    return iri(verb["id"], f"{path}.id")


def _substatement(value: Mapping[str, Any], version: str, path: str) -> None:
    keys(value, SUBSTATEMENT_KEYS, path)
    required(value, ("actor", "verb", "object"), path)
    _statement_body(value, version, path, sub=True)


def statement_ref(value: Any, path: str) -> None:
    ref = obj(value, path)
    keys(ref, {"objectType", "id"}, path)
    if ref.get("objectType") != "StatementRef":
        raise fail(f"{path}.objectType", "must be 'StatementRef'")
    required(ref, ("id",), path)
    uuid(ref["id"], f"{path}.id")


def activity(value: Any, path: str) -> None:
    """An Activity: an IRI id and an optional definition."""
    item = obj(value, path)
    keys(item, {"objectType", "id", "definition"}, path)
    if item.get("objectType", "Activity") != "Activity":
        raise fail(f"{path}.objectType", "must be 'Activity'")
    required(item, ("id",), path)
    iri(item["id"], f"{path}.id")
    if "definition" in item:
        definition(item["definition"], f"{path}.definition")


def definition(value: Any, path: str) -> None:
    """An Activity definition, with interaction components matching its interactionType."""
    item = obj(value, path)
    keys(item, DEFINITION_KEYS, path)
    for name in ("name", "description"):
        if name in item:
            language_map(item[name], f"{path}.{name}")
    if "type" in item:
        iri(item["type"], f"{path}.type")
    if "moreInfo" in item:
        iri(item["moreInfo"], f"{path}.moreInfo")
    if "extensions" in item:
        extensions(item["extensions"], f"{path}.extensions")
    present = ALL_COMPONENTS & set(item)
    if "interactionType" in item:
        kind = item["interactionType"]
        if not isinstance(kind, str) or kind not in INTERACTION_COMPONENTS:
            raise fail(f"{path}.interactionType", f"must be one of {', '.join(INTERACTION_COMPONENTS)}")
        wrong = present - INTERACTION_COMPONENTS[kind]
        if wrong:
            raise fail(path, f"{', '.join(sorted(wrong))} not allowed for interactionType {kind!r}")
    elif present or "correctResponsesPattern" in item:
        raise fail(path, "interaction properties need an interactionType")
    if "correctResponsesPattern" in item:
        patterns = item["correctResponsesPattern"]
        if not isinstance(patterns, list):
            raise fail(f"{path}.correctResponsesPattern", "must be an array of strings")
        for i, pattern in enumerate(patterns):
            string(pattern, f"{path}.correctResponsesPattern[{i}]")
    for name in present:
        _components(item[name], f"{path}.{name}")


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise fail(path, "must be an array of interaction components")
    seen: set[str] = set()
    for i, component in enumerate(value):
        item = obj(component, f"{path}[{i}]")
        keys(item, {"id", "description"}, f"{path}[{i}]")
        required(item, ("id",), f"{path}[{i}]")
        ident = string(item["id"], f"{path}[{i}].id")
        if ident in seen:
            raise fail(f"{path}[{i}].id", f"duplicate interaction component id {ident!r}")
        seen.add(ident)
        if "description" in item:
            language_map(item["description"], f"{path}[{i}].description")


def _result(value: Any, path: str) -> None:
    item = obj(value, path)
    keys(item, {"score", "success", "completion", "response", "duration", "extensions"}, path)
    if "score" in item:
        score = obj(item["score"], f"{path}.score")
        keys(score, {"scaled", "raw", "min", "max"}, f"{path}.score")
        values = {name: number(score[name], f"{path}.score.{name}") for name in score}
        if "scaled" in values and not -1 <= values["scaled"] <= 1:
            raise fail(f"{path}.score.scaled", "must be between -1 and 1")
        low, high, raw = values.get("min"), values.get("max"), values.get("raw")
        if low is not None and high is not None and low > high:
            raise fail(f"{path}.score", "min must not exceed max")
        if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
            raise fail(f"{path}.score.raw", "must lie between min and max")
    for name in ("success", "completion"):
        if name in item:
            boolean(item[name], f"{path}.{name}")
    if "response" in item:
        string(item["response"], f"{path}.response")
    if "duration" in item:
        duration(item["duration"], f"{path}.duration")
    if "extensions" in item:
        extensions(item["extensions"], f"{path}.extensions")


def _context(value: Any, version: str, object_type: str, path: str) -> None:
    item = obj(value, path)
    keys(item, CONTEXT_KEYS_2 if version.startswith("2") else CONTEXT_KEYS, path)
    if "registration" in item:
        uuid(item["registration"], f"{path}.registration")
    if "instructor" in item:
        actor(item["instructor"], f"{path}.instructor")
    if "team" in item:
        group(item["team"], f"{path}.team")
    for name in ("revision", "platform"):
        if name in item:
            string(item[name], f"{path}.{name}")
            if object_type != "Activity":
                raise fail(f"{path}.{name}", "only allowed when the object is an Activity")
    if "language" in item:
        language_tag(item["language"], f"{path}.language")
    if "statement" in item:
        statement_ref(item["statement"], f"{path}.statement")
    if "extensions" in item:
        extensions(item["extensions"], f"{path}.extensions")
    if "contextActivities" in item:
        _context_activities(item["contextActivities"], f"{path}.contextActivities")
    for name, kind in (("contextAgents", "contextAgent"), ("contextGroups", "contextGroup")):
        if name in item:
            _context_members(item[name], kind, f"{path}.{name}")


def _context_activities(value: Any, path: str) -> None:
    item = obj(value, path)
    keys(item, {"parent", "grouping", "category", "other"}, path)
    for name, entries in item.items():
        for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            activity(entry, f"{path}.{name}[{i}]")


def _context_members(value: Any, kind: str, path: str) -> None:
    if not isinstance(value, list):
        raise fail(path, "must be an array")
    member = "agent" if kind == "contextAgent" else "group"
    for i, entry in enumerate(value):
        item = obj(entry, f"{path}[{i}]")
        keys(item, {"objectType", member, "relevantTypes"}, f"{path}[{i}]")
        required(item, ("objectType", member), f"{path}[{i}]")
        if item["objectType"] != kind:
            raise fail(f"{path}[{i}].objectType", f"must be {kind!r}")
        (agent if member == "agent" else group)(item[member], f"{path}[{i}].{member}")
        if "relevantTypes" in item:
            types = item["relevantTypes"]
            if not isinstance(types, list) or not types:
                raise fail(f"{path}[{i}].relevantTypes", "must be a non-empty array of IRIs")
            for j, type_iri in enumerate(types):
                iri(type_iri, f"{path}[{i}].relevantTypes[{j}]")


def _authority(value: Any, path: str) -> None:
    item = obj(value, path)
    if item.get("objectType") == "Group":
        group(item, path)
        if len(item.get("member", [])) != 2 or any(ifi in item for ifi in IFIS):
            raise fail(path, "an authority Group is an anonymous group of exactly two agents (OAuth)")
    else:
        agent(item, path)


def attachments(value: Any, path: str) -> None:
    """Attachment metadata: usage type, display, content type, length and SHA-2 of the content."""
    if not isinstance(value, list):
        raise fail(path, "must be an array")
    allowed = {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
    for i, entry in enumerate(value):
        at = f"{path}[{i}]"
        item = obj(entry, at)
        keys(item, allowed, at)
        required(item, ("usageType", "display", "contentType", "length", "sha2"), at)
        iri(item["usageType"], f"{at}.usageType")
        language_map(item["display"], f"{at}.display")
        if "description" in item:
            language_map(item["description"], f"{at}.description")
        string(item["contentType"], f"{at}.contentType")
        if isinstance(item["length"], bool) or not isinstance(item["length"], int) or item["length"] < 0:
            raise fail(f"{at}.length", "must be a non-negative integer")
        if not isinstance(item["sha2"], str) or not re.fullmatch(r"[0-9a-fA-F]{56,128}", item["sha2"]):
            raise fail(f"{at}.sha2", "must be a hexadecimal SHA-2 digest")
        if "fileUrl" in item:
            iri(item["fileUrl"], f"{at}.fileUrl")
