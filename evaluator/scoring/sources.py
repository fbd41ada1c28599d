"""Scheme sources the store has never seen: a misspelled measure or survey question id.

Measure and question ids are free text, so `measure: complaint_resolution_rat` validates; the
indicator then has no value for any unit, is dropped by its missing-data rule and the ranks change
without a word. Here the scheme's ids are compared with every id the store holds (any period:
an id with data for another year is not misspelled, only missing, which `evaluator check`
reports), and the closest stored ids are offered. `score` records the warnings in the run's note
(and refuses with `--strict`); `check` prints them first.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

import polars as pl

from evaluator.scheme.models import MeasureSource, Scheme, SurveySource
from evaluator.scoring.engine import Engine, sql

Kind = Literal["measure", "question"]
KIND_TEXT: dict[str, tuple[str, str]] = {"measure": ("measure", "成效数据项"),
                                         "question": ("survey question", "问卷题目")}

STORED_IDS = """
SELECT DISTINCT measure AS source_id, 'measure' AS kind FROM current_outcomes
UNION SELECT DISTINCT question, 'question' FROM current_survey_responses
UNION SELECT DISTINCT question, 'question' FROM current_questions
"""


@dataclass(frozen=True)
class UnknownSource:
    """One id an indicator reads that no loaded batch contains."""

    indicator_id: str
    kind: Kind
    source_id: str
    suggestions: tuple[str, ...]

    def message(self) -> str:
        """One line, English then Chinese, naming the indicator, the id and the likely fix."""
        en, zh = KIND_TEXT[self.kind]
        hint = (f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
                if self.suggestions else "; check the id against the loaded data")
        hint_zh = f"，是否应为 {'、'.join(self.suggestions)}？" if self.suggestions else ""
        return (f"indicator '{self.indicator_id}': no such {en} '{self.source_id}' in the store"
                f"{hint} (no unit has a value for it) / 指标 {self.indicator_id}：库中没有"
                f"{zh} {self.source_id}{hint_zh}")


def scheme_sources(scheme: Scheme) -> pl.DataFrame:
    """Every (indicator, kind, id) the scheme reads."""
    rows: list[dict[str, str]] = []
    for ind in scheme.indicators():
        if isinstance(ind.source, MeasureSource):
            rows.append({"indicator_id": ind.id, "kind": "measure",
                         "source_id": ind.source.measure})
            if ind.source.per is not None:
                rows.append({"indicator_id": ind.id, "kind": "measure",
                             "source_id": ind.source.per})
        elif isinstance(ind.source, SurveySource):
            rows += [{"indicator_id": ind.id, "kind": "question", "source_id": q}
                     for q in ind.source.questions]
    return pl.DataFrame(rows, schema={"indicator_id": pl.String, "kind": pl.String,
                                      "source_id": pl.String})


def unknown_sources(engine: Engine, scheme: Scheme) -> list[UnknownSource]:
    """The scheme's measure and question ids that are nowhere in the store, in scheme order."""
    stored = engine.fetch_polars(sql(STORED_IDS))
    unknown = scheme_sources(scheme).join(stored, on=["source_id", "kind"], how="anti")
    by_kind = {k: part["source_id"].drop_nulls().to_list()
               for (k,), part in stored.group_by("kind")}
    return [
        UnknownSource(r["indicator_id"], r["kind"], r["source_id"], tuple(
            difflib.get_close_matches(r["source_id"], by_kind.get(r["kind"], []), n=2,
                                      cutoff=0.6)))
        for r in unknown.to_dicts()  # a handful of scheme ids, not data rows
    ]
