"""Whole-catalogue checks that a schema cannot express: unique ids, references, one person per account.

Every problem is listed (up to `MAX_PROBLEMS`) with where it is, so a college fixes its spreadsheet in one go.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date

from footprint.catalogue.model import FIRST_YEAR, LAST_YEAR, Account, Catalogue
from footprint.facts.project import display_name
from footprint.xapi.canonical import agent_key

MAX_PROBLEMS = 50


class CatalogueError(ValueError):
    """A catalogue that cannot be used; `problems` says what and where."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__("; ".join(shown) + more)
        self.problems = shown


def account_key(account: Account) -> str:
    """The agent key a statement naming this account has (what the facts store as the actor)."""
    if account.mbox is not None:
        return f"mbox:{account.mbox.lower()}"
    key = agent_key({"account": {"homePage": account.homePage, "name": account.name}})
    return key or ""


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zones this machine knows (`Asia/Almaty`, `UTC` …; not a folder such as `Asia`)."""
    return frozenset(zoneinfo.available_timezones())


def _moments(catalogue: Catalogue) -> Iterator[tuple[str, date]]:
    """Every date and time the catalogue holds, with where it is."""
    for number, item in enumerate(catalogue.classes):
        yield f"classes[{number}] ({item.id}).start", item.start
        yield f"classes[{number}] ({item.id}).end", item.end
    for number, task in enumerate(catalogue.assignments):
        yield f"assignments[{number}] ({task.id}).due", task.due
    for number, episode in enumerate(catalogue.episodes):
        yield f"episodes[{number}] ({episode.id}).start", episode.start
        yield f"episodes[{number}] ({episode.id}).end", episode.end
        for position, document in enumerate(episode.documents):
            yield f"episodes[{number}] ({episode.id}).documents[{position}].date", document.date
    for number, approved in enumerate(catalogue.approved_lists):
        yield f"approved_lists[{number}].order.date", approved.order.date
        if approved.valid_from is not None:
            yield f"approved_lists[{number}].valid_from", approved.valid_from
        if approved.valid_until is not None:
            yield f"approved_lists[{number}].valid_until", approved.valid_until


def time_problems(catalogue: Catalogue) -> list[str]:
    """Dates and times outside the years the platform computes with (a class in year 1 is a typing error)."""
    return [
        f"{where}: {moment.isoformat()} is outside the years {FIRST_YEAR}–{LAST_YEAR}"
        for where, moment in _moments(catalogue)
        if not FIRST_YEAR <= moment.year <= LAST_YEAR
    ]


def _duplicates(kind: str, ids: Iterable[str]) -> list[str]:
    return [f"{kind} {item!r} is listed {count} times" for item, count in Counter(ids).items() if count > 1]


def check_catalogue(catalogue: Catalogue) -> None:
    """Raise CatalogueError listing every broken reference or duplicate in the catalogue."""
    problems: list[str] = []
    if catalogue.timezone not in time_zones():
        problems.append(f"timezone {catalogue.timezone!r} is not an IANA time zone such as Asia/Almaty")
    problems += time_problems(catalogue)
    programmes = {p.id: p for p in catalogue.programmes}
    problems += _duplicates("programme", (p.id for p in catalogue.programmes))
    for programme in catalogue.programmes:
        problems += _duplicates(f"programme {programme.id}: discipline", (d.code for d in programme.disciplines))
        unit = "hours" if programme.level == "tvet" else "credits"
        for discipline in programme.disciplines:
            if getattr(discipline, unit) is None:
                problems.append(f"programme {programme.id}: discipline {discipline.code} needs its {unit}")
    codes = {p.id: {d.code for d in p.disciplines} for p in catalogue.programmes}
    groups = {g.id: g for g in catalogue.groups}
    problems += _duplicates("group", (g.id for g in catalogue.groups))
    problems += [
        f"group {g.id}: no programme {g.programme!r}" for g in catalogue.groups if g.programme not in programmes
    ]
    people = [*catalogue.learners, *catalogue.teachers]
    problems += _duplicates("learner", (p.id for p in catalogue.learners))
    problems += _duplicates("teacher", (p.id for p in catalogue.teachers))
    problems += [f"learner {p.id}: no group {p.group!r}" for p in catalogue.learners if p.group not in groups]
    owners = Counter(account_key(a) for person in people for a in person.accounts)
    problems += [f"account {key} belongs to more than one person" for key, n in owners.items() if n > 1]
    named = Counter(alias for person in people for alias in {display_name(a) for a in person.aliases})
    problems += [
        f"alias {alias.removeprefix('name:')!r} belongs to more than one person (whose statements would be a guess)"
        for alias, n in named.items()
        if n > 1
    ]
    teachers = {t.id for t in catalogue.teachers}
    problems += _duplicates("class", (c.id for c in catalogue.classes))
    for item in catalogue.classes:
        group = groups.get(item.group)
        if group is None:
            problems.append(f"class {item.id}: no group {item.group!r}")
        elif item.discipline not in codes.get(group.programme, set()):
            problems.append(f"class {item.id}: programme {group.programme} has no discipline {item.discipline!r}")
        if item.teacher not in teachers:
            problems.append(f"class {item.id}: no teacher {item.teacher!r}")
    assignments = {a.id for a in catalogue.assignments}
    problems += _duplicates("assignment", (a.id for a in catalogue.assignments))
    for task in catalogue.assignments:
        if task.discipline not in codes.get(task.programme, set()):
            problems.append(f"assignment {task.id}: programme {task.programme!r} has no discipline {task.discipline!r}")
        problems += [f"assignment {task.id}: no group {g!r}" for g in task.groups if g not in groups]
    for item in catalogue.classes:
        problems += [f"class {item.id}: no assignment {a!r}" for a in item.assignments if a not in assignments]
    for approved in catalogue.approved_lists:
        where = f"approved list {approved.order.number}"
        if approved.programme not in programmes:
            problems.append(f"{where}: no programme {approved.programme!r}")
        else:
            missing = [d for d in approved.disciplines if d not in codes[approved.programme]]
            problems += [f"{where}: programme {approved.programme} has no discipline {d!r}" for d in missing]
    learners = {p.id for p in catalogue.learners}
    classes = {c.id for c in catalogue.classes}
    problems += _duplicates("episode", (e.id for e in catalogue.episodes))
    for episode in catalogue.episodes:
        if episode.learner is not None and episode.learner not in learners:
            problems.append(f"episode {episode.id}: no learner {episode.learner!r}")
        if episode.group is not None and episode.group not in groups:
            problems.append(f"episode {episode.id}: no group {episode.group!r}")
        problems += [f"episode {episode.id}: no class {c!r}" for c in episode.classes if c not in classes]
    if problems:
        raise CatalogueError(problems)
