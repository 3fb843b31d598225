"""Small pure checks of xAPI building blocks: IRIs, UUIDs, timestamps, durations, language maps, agents.

Each check raises InvalidStatement naming the JSON path of the offending value, so a client reads
exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from footprint.xapi.errors import InvalidStatement

IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_NUM = r"\d+(?:[.,]\d+)?"
DURATION = re.compile(
    rf"^P(?:{_NUM}W|(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)$"
)
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
AGENT_KEYS = frozenset({"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
GROUP_KEYS = AGENT_KEYS | {"member"}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def fail(path: str, message: str) -> InvalidStatement:
    """The error for one bad value at a JSON path."""
    return InvalidStatement(f"{path}: {message}", details={"path": path})


def obj(value: Any, path: str) -> Mapping[str, Any]:
    """The value as a JSON object, or a clear error."""
    if not isinstance(value, dict):
        raise fail(path, "must be a JSON object")
    for key, item in value.items():
        if item is None:
            raise fail(f"{path}.{key}", "must not be null")
    return value


def keys(value: Mapping[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    """Refuse properties the specification does not define (names are case-sensitive)."""
    extra = sorted(set(value) - allowed)
    if extra:
        raise fail(path, f"unknown propert{'y' if len(extra) == 1 else 'ies'} {', '.join(extra)}")


def required(value: Mapping[str, Any], names: tuple[str, ...], path: str) -> None:
    """Refuse an object that lacks a mandatory property."""
    for name in names:
        if name not in value:
            raise fail(path, f"missing required property {name!r}")


def string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise fail(path, "must be a string")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "must be true or false")
    return value


def number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, "must be a number")
    return float(value)


def iri(value: Any, path: str) -> str:
    """An absolute IRI: a scheme, a colon and no white space."""
    if not isinstance(value, str) or not IRI.match(value):
        raise fail(path, "must be an absolute IRI (e.g. http://example.com/x)")
    return value


def uuid(value: Any, path: str) -> str:
    if not isinstance(value, str) or not UUID.match(value):
        raise fail(path, "must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6")
    return value


def parse_timestamp(value: str) -> datetime | None:
    """The instant of an ISO 8601 timestamp, or None when it is not one (no offset means UTC)."""
    match = TIMESTAMP.match(value)
    if match is None or value.endswith("-00:00") or value.endswith("-0000") or value.endswith("-00"):
        return None
    text = value.replace("Z", "+00:00")
    if match.group(8) is None:
        text += "+00:00"
    elif len(match.group(8)) == 3:
        text += ":00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def timestamp(value: Any, path: str) -> str:
    if not isinstance(value, str) or parse_timestamp(value) is None:
        raise fail(path, "must be an ISO 8601 timestamp such as 2024-05-01T10:00:00.000Z (not -00:00)")
    return value


def duration(value: Any, path: str) -> str:
    if not isinstance(value, str) or not DURATION.match(value):
        raise fail(path, "must be an ISO 8601 duration such as PT1H30M")
    return value


def language_tag(value: Any, path: str) -> str:
    if not isinstance(value, str) or not LANGUAGE_TAG.match(value):
        raise fail(path, "must be an RFC 5646 language tag such as en-US")
    return value


def language_map(value: Any, path: str) -> None:
    """A map of RFC 5646 language tags to strings."""
    for tag, text in obj(value, path).items():
        language_tag(tag, f"{path}[{tag!r}]")
        string(text, f"{path}.{tag}")


def extensions(value: Any, path: str) -> None:
    """Extensions: keys are IRIs, values any JSON."""
    if not isinstance(value, dict):
        raise fail(path, "must be a JSON object")
    for key in value:
        iri(key, f"{path}[{key!r}]")


def account(value: Any, path: str) -> None:
    acc = obj(value, path)
    keys(acc, {"homePage", "name"}, path)
    required(acc, ("homePage", "name"), path)
    iri(acc["homePage"], f"{path}.homePage")
    string(acc["name"], f"{path}.name")


def _ifis(value: Mapping[str, Any], path: str) -> int:
    count = 0
    if "mbox" in value:
        count += 1
        mbox = string(value["mbox"], f"{path}.mbox")
        if not mbox.startswith("mailto:") or "@" not in mbox:
            raise fail(f"{path}.mbox", "must be a mailto: IRI such as mailto:ann@example.com")
    if "mbox_sha1sum" in value:
        count += 1
        if not isinstance(value["mbox_sha1sum"], str) or not SHA1_HEX.match(value["mbox_sha1sum"]):
            raise fail(f"{path}.mbox_sha1sum", "must be 40 hexadecimal digits")
    if "openid" in value:
        count += 1
        iri(value["openid"], f"{path}.openid")
    if "account" in value:
        count += 1
        account(value["account"], f"{path}.account")
    if count > 1:
        raise fail(path, "must have exactly one of mbox, mbox_sha1sum, openid, account")
    return count


def agent(value: Any, path: str) -> None:
    """An Agent: objectType optional ("Agent"), exactly one inverse functional identifier."""
    item = obj(value, path)
    keys(item, AGENT_KEYS, path)
    if item.get("objectType", "Agent") != "Agent":
        raise fail(f"{path}.objectType", "must be 'Agent'")
    if "name" in item:
        string(item["name"], f"{path}.name")
    if _ifis(item, path) != 1:
        raise fail(path, "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account")


def group(value: Any, path: str) -> None:
    """A Group: identified (one IFI, optional members) or anonymous (no IFI, members required)."""
    item = obj(value, path)
    keys(item, GROUP_KEYS, path)
    if item.get("objectType") != "Group":
        raise fail(f"{path}.objectType", "must be 'Group'")
    if "name" in item:
        string(item["name"], f"{path}.name")
    identified = _ifis(item, path) == 1
    if "member" in item or not identified:
        members = item.get("member")
        if not isinstance(members, list) or (not identified and not members):
            raise fail(f"{path}.member", "an anonymous Group needs a non-empty member list")
        for i, member in enumerate(members):
            agent(member, f"{path}.member[{i}]")


def actor(value: Any, path: str) -> None:
    """An Agent or a Group, told apart by objectType."""
    if isinstance(value, dict) and value.get("objectType") == "Group":
        group(value, path)
    else:
        agent(value, path)
