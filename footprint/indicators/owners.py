"""Whose statements are whose: facts matched to the catalogue's learners and teachers, by one rule.

A fact belongs to the person one of whose accounts is its actor. A meeting statement whose actor is no
catalogue person's account — learner or teacher — (BigBlueButton names people by display name) belongs to
the person with that alias. A learner's own statement is never a teacher's because the names match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from footprint.catalogue.index import CatalogueIndex, PersonTerms
from footprint.facts.columns import Facts
from footprint.vocabulary import Category

NOBODY = -1


def _lookup(facts: Facts, people: Sequence[PersonTerms], field: str) -> NDArray[np.int64]:
    """Term id → person position (NOBODY when the term is no one's)."""
    table = np.full(max(facts.terms.values(), default=0) + 1, NOBODY, dtype=np.int64)
    for position, terms in enumerate(people):
        for text in getattr(terms, field):
            number = facts.term(text)
            if number:
                table[number] = position
    return table


def known_actors(facts: Facts, index: CatalogueIndex) -> NDArray[np.bool_]:
    """Which facts' actor is an account of someone in the catalogue (a learner or a teacher)."""
    people = (*index.learner_terms.values(), *index.teacher_terms.values())
    ids = {facts.term(text) for terms in people for text in terms.actors} - {0}
    return np.isin(facts.actor, sorted(ids))


def by_alias(facts: Facts, index: CatalogueIndex) -> NDArray[np.bool_]:
    """Facts that go by their display name: meeting statements whose actor is no catalogue person's account."""
    meeting = (facts.category == Category.MEETING) & (facts.alias != 0)
    return np.asarray(meeting & ~known_actors(facts, index), dtype=np.bool_)


def owners(facts: Facts, index: CatalogueIndex, people: Sequence[PersonTerms]) -> NDArray[np.int64]:
    """The position in `people` of each fact's owner (NOBODY for the rest)."""
    owner = _lookup(facts, people, "actors")[facts.actor]
    named = by_alias(facts, index)
    owner[named] = _lookup(facts, people, "aliases")[facts.alias[named]]
    return owner


def split(facts: Facts, owner: NDArray[np.int64], count: int) -> list[Facts]:
    """Each owner's facts, sorted by time (a late statement takes its place by its timestamp)."""
    order = np.lexsort((facts.at, owner))
    owner_sorted = owner[order]
    bounds = np.searchsorted(owner_sorted, np.arange(count + 1))
    return [facts.pick(order[bounds[i] : bounds[i + 1]]) for i in range(count)]


def facts_of(facts: Facts, index: CatalogueIndex, terms: PersonTerms) -> Facts:
    """One person's facts out of a larger set: their accounts' statements and meeting statements under
    their aliases whose actor is nobody's account."""
    mine = np.isin(facts.actor, [facts.term(t) for t in terms.actors if facts.term(t)])
    aliased = by_alias(facts, index) & np.isin(facts.alias, [facts.term(t) for t in terms.aliases if facts.term(t)])
    picked = np.flatnonzero(mine | aliased)
    return facts.pick(picked[np.argsort(facts.at[picked], kind="stable")])


def term_map(facts: Facts, texts: Mapping[str, str]) -> dict[int, str]:
    """Term ids of the given texts (those some fact carries) → the value each text maps to."""
    return {facts.term(text): value for text, value in texts.items() if facts.term(text)}
