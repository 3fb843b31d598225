"""The foreign-material thresholds of an exam's policy (`policy.material`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MaterialConfig(BaseModel):
    """When an answer's matched passages make a finding for the examiner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_share_from: float = Field(
        0.4,
        ge=0.01,
        le=1.0,
        title="Answer share",
        description="An answer with at least this share of its words in matched passages is a finding.",
    )
    pair_share_from: float = Field(
        0.1,
        ge=0.01,
        le=1.0,
        title="Source share",
        description="A matched text (answer or source) is listed among the answer's sources from this share.",
    )
    min_passage_words: int = Field(
        12, ge=5, le=500, title="Passage length", description="Words a matched passage has at least."
    )
    mixed_alphabet_words_from: int = Field(
        3,
        ge=1,
        le=10_000,
        title="Mixed-alphabet words",
        description="An answer with this many words that mix Latin and Cyrillic letters is a finding of its own.",
    )
    other_exams: bool = Field(
        True,
        title="Other exams",
        description="Compare with the college's answers to its other exams (earlier years) as well as this one's.",
    )
