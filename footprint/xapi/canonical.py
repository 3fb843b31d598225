"""Statement comparison, identifier keys and response formats (`exact`, `ids`, `canonical`).

The specification's "same statement" ignores what the LRS adds or may rewrite (id, stored,
authority, version), the formatting of timestamps (the instant counts), the case of language tags
and the order of object keys; everything else must match exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from footprint.xapi.checks import IFIS, parse_timestamp

IGNORED_FOR_COMPARISON = ("id", "stored", "authority", "version")
LANGUAGE_MAP_KEYS = frozenset({"display", "name", "description"})


def agent_key(agent: Mapping[str, Any]) -> str | None:
    """A stable string for an Agent's or identified Group's inverse functional identifier."""
    if "mbox" in agent:
        return f"mbox:{str(agent['mbox']).lower()}"
    if "mbox_sha1sum" in agent:
        return f"sha1:{str(agent['mbox_sha1sum']).lower()}"
    if "openid" in agent:
        return f"openid:{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, Mapping):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


def actor_keys(actor: Mapping[str, Any]) -> Iterator[str]:
    """Keys of an actor and, for a Group, of its members."""
    key = agent_key(actor)
    if key is not None:
        yield key
    for member in actor.get("member", ()) if actor.get("objectType") == "Group" else ():
        if isinstance(member, Mapping):
            member_key = agent_key(member)
            if member_key is not None:
                yield member_key


def _hundredths(duration: str) -> str:
    """A duration with its seconds truncated to 0.01 s: finer precision does not count in comparisons."""
    match = re.search(r"(\d+)[.,](\d+)S$", duration)
    if match is None:
        return duration
    return f"{duration[: match.start()]}{match.group(1)}.{(match.group(2) + '00')[:2]}S"


def _normalise(value: Any, parent_key: str | None = None) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if parent_key in LANGUAGE_MAP_KEYS and isinstance(item, str):
                out[key.lower()] = item
            elif key == "duration" and isinstance(item, str):
                out[key] = _hundredths(item)
            elif key in ("timestamp", "stored") and isinstance(item, str):
                instant = parse_timestamp(item)
                out[key] = instant.isoformat() if instant else item
            else:
                out[key] = _normalise(item, key)
        return out
    if isinstance(value, list):
        return [_normalise(item, parent_key) for item in value]
    return value


def comparable(statement: Mapping[str, Any]) -> Any:
    """The parts of a statement that decide whether two statements are the same."""
    trimmed = {key: value for key, value in statement.items() if key not in IGNORED_FOR_COMPARISON}
    actor = trimmed.get("actor")
    if isinstance(actor, dict) and "objectType" not in actor:
        trimmed["actor"] = {**actor, "objectType": "Agent"}
    target = trimmed.get("object")
    if isinstance(target, dict) and "objectType" not in target:
        trimmed["object"] = {**target, "objectType": "Activity"}
    return _normalise(trimmed)


def same_statement(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """True when a re-sent statement is the one already stored (idempotent POST/PUT)."""
    return bool(comparable(first) == comparable(second))


def _ids_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: agent[key] for key in ("objectType", *IFIS) if key in agent}
    if agent.get("objectType") == "Group" and agent_key(agent) is None:
        out["member"] = [_ids_agent(member) for member in agent.get("member", [])]
    return out


def _ids_object(target: Mapping[str, Any]) -> dict[str, Any]:
    kind = target.get("objectType", "Activity")
    if kind == "Activity":
        return {"id": target["id"]}
    if kind in ("Agent", "Group"):
        return _ids_agent(target)
    if kind == "SubStatement":
        return ids_format(target)
    return dict(target)


def ids_format(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The `format=ids` form: only identifiers of agents, groups, activities and verbs."""
    out = dict(statement)
    out["actor"] = _ids_agent(statement["actor"])
    out["verb"] = {"id": statement["verb"]["id"]}
    out["object"] = _ids_object(statement["object"])
    if "authority" in statement:
        out["authority"] = _ids_agent(statement["authority"])
    context = statement.get("context")
    if isinstance(context, Mapping):
        ctx = dict(context)
        for name in ("instructor", "team"):
            if name in ctx:
                ctx[name] = _ids_agent(ctx[name])
        if "contextActivities" in ctx:
            ctx["contextActivities"] = {
                name: [{"objectType": "Activity", "id": a["id"]} for a in (v if isinstance(v, list) else [v])]
                for name, v in ctx["contextActivities"].items()
            }
        out["context"] = ctx
    return out


def _pick_language(value: Mapping[str, str], languages: tuple[str, ...]) -> dict[str, str]:
    for wanted in languages:
        for tag, text in value.items():
            if tag.lower() == wanted.lower() or tag.lower().split("-")[0] == wanted.lower():
                return {tag: text}
    first = next(iter(value.items()), None)
    return {first[0]: first[1]} if first else {}


def canonical_format(value: Any, languages: tuple[str, ...], parent_key: str | None = None) -> Any:
    """The `format=canonical` form: every language map reduced to the client's preferred language."""
    if isinstance(value, dict):
        if parent_key in LANGUAGE_MAP_KEYS and all(isinstance(v, str) for v in value.values()):
            return _pick_language(value, languages)
        return {key: canonical_format(item, languages, key) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_format(item, languages, parent_key) for item in value]
    return value
