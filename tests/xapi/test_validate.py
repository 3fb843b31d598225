"""Statement validation (1.0.3 and 2.0.0), comparison and response formats: pure functions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from footprint.xapi.canonical import canonical_format, ids_format, same_statement
from footprint.xapi.errors import InvalidStatement
from footprint.xapi.validate import validate_statement
from tests.xapi.conftest import statement


def _with(path: str, value: Any) -> dict[str, Any]:
    data = statement()
    target = data
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return data


def test_valid_statements_pass() -> None:
    validate_statement(statement())
    full = statement(
        id="3fa85f64-5717-4562-b3fc-2c963f66afa6",
        result={"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "success": True, "duration": "PT1M30.5S"},
        context={
            "registration": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "contextActivities": {"parent": {"id": "https://proctor.kz/exams/1"}},
            "language": "kk-KZ",
        },
        timestamp="2026-05-01T10:00:00.123+05:00",
        version="1.0.3",
    )
    validate_statement(full)
    group = statement()
    group["actor"] = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.kz"}]}
    validate_statement(group)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("id", "not-a-uuid", "statement.id"),
        ("actor.mbox", "ann@example.kz", "mailto"),
        ("actor.openid", "http://openid.example/ann", "exactly one"),
        ("verb.id", "answered", "IRI"),
        ("verb.display", {"en US": "x"}, "language tag"),
        ("object.definition", {"interactionType": "essay"}, "interactionType"),
        ("object.definition", {"interactionType": {"a": 1}}, "interactionType"),
        ("object.definition", {"interactionType": "likert", "choices": []}, "not allowed"),
        ("result.score", {"scaled": 1.5}, "between -1 and 1"),
        ("result.score", {"raw": 11, "max": 10}, "between min and max"),
        ("result.duration", "90 seconds", "duration"),
        ("context.registration", "x", "UUID"),
        ("timestamp", "2026-05-01T10:00:00-00:00", "timestamp"),
        ("version", "0.95", "version"),
        ("extra", 1, "unknown property"),
        ("actor.name", None, "null"),
    ],
)
def test_invalid_statements_name_the_problem(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidStatement, match=message):
        validate_statement(_with(path, value))


def test_revision_only_with_activity_object() -> None:
    data = statement(context={"revision": "2"})
    data["object"] = {"objectType": "Agent", "mbox": "mailto:bob@example.kz"}
    with pytest.raises(InvalidStatement, match="only allowed when the object is an Activity"):
        validate_statement(data)


def test_substatement_rules() -> None:
    data = statement()
    data["object"] = {"objectType": "SubStatement", **statement(), "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
    with pytest.raises(InvalidStatement, match="unknown property id"):
        validate_statement(data)
    data["object"] = {"objectType": "SubStatement", **statement()}
    validate_statement(data)
    data["object"]["object"] = {"objectType": "SubStatement", **statement()}
    with pytest.raises(InvalidStatement, match="not allowed here"):
        validate_statement(data)


def test_voiding_needs_statement_ref() -> None:
    with pytest.raises(InvalidStatement, match="StatementRef"):
        validate_statement(statement(verb="voided"))


def test_context_agents_only_in_2_0() -> None:
    agents = [{"objectType": "contextAgent", "agent": {"mbox": "mailto:x@example.kz"}, "relevantTypes": ["http://a/b"]}]
    data = statement(context={"contextAgents": agents})
    validate_statement(data, "2.0.0")
    with pytest.raises(InvalidStatement, match="contextAgents"):
        validate_statement(data, "1.0.3")


def test_same_statement_ignores_store_fields_and_formatting() -> None:
    first = statement(timestamp="2026-05-01T10:00:00Z", result={"duration": "PT1.2345S"})
    second = copy.deepcopy(first)
    second |= {"id": "x", "stored": "y", "authority": {}, "version": "1.0.0", "timestamp": "2026-05-01T15:00:00+05:00"}
    second["verb"]["display"] = {"EN-us": "answered"}
    second["result"]["duration"] = "PT1.23S"
    assert same_statement(first, second)
    second["object"]["id"] = "https://proctor.kz/activities/q2"
    assert not same_statement(first, second)


def test_ids_and_canonical_formats() -> None:
    data = statement()
    data["object"]["definition"] = {"name": {"en-US": "Question", "kk-KZ": "Сұрақ"}}
    ids = ids_format(data)
    assert ids["object"] == {"id": data["object"]["id"]} and ids["verb"] == {"id": data["verb"]["id"]}
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.kz"}
    canonical = canonical_format(data, ("kk",))
    assert canonical["object"]["definition"]["name"] == {"kk-KZ": "Сұрақ"}
