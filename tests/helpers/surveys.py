"""Survey test helpers: a scheme with survey indicators, units and answers in a real DuckDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import DuckDBEngine

T0 = datetime(2026, 3, 1, 9, 0, 0)


def make_scheme(indicators: list[dict[str, Any]] | None = None, **survey: Any) -> Scheme:
    """A minimal valid scheme: one outcome indicator plus the given survey indicators."""
    if indicators is None:
        indicators = [{"id": "sat", "questions": ["q1", "q2", "q3"]}]
    inds: list[dict[str, Any]] = [
        {"id": "income", "name": {"zh": "收入", "en": "Income"}, "evidence": "outcome",
         "source": {"measure": "income"}, "rule": {"type": "min_max"}},
    ]
    for spec in indicators:
        inds.append({
            "id": spec["id"], "name": {"zh": spec["id"], "en": spec["id"]},
            "evidence": "satisfaction",
            "source": {"questions": spec["questions"],
                       "scale": spec.get("scale", {"min": 1, "max": 5}),
                       "top_box": spec.get("top_box", 2)},
            "rule": {"type": "direct"},
        })
    return Scheme.model_validate({
        "id": "t", "name": {"zh": "测试", "en": "Test"}, "year": 2026, "unit_types": ["township"],
        # these hand-made questionnaires are short: judge straight-lining from 3 questions
        "survey": {"straightline_min_questions": 3, **survey},
        "dimensions": [{"id": "d", "name": {"zh": "维度", "en": "Dim"}, "indicators": inds}],
    })


def set_units(con, units: Sequence[tuple[str, str | None]]) -> str:
    frame = pl.DataFrame(units, schema={"unit_id": pl.String, "peer_group": pl.String},
                         orient="row")
    DuckDBEngine(con).register("scored_units", frame)
    return "scored_units"


def add_answers(con, rows: list[dict[str, Any]]) -> None:
    """rows: response_id, unit_id, question, answer and optional response attributes."""
    full = [
        {
            "batch_id": 1, "response_id": r["response_id"], "unit_id": r["unit_id"],
            "period": r.get("period", "2026"), "year": int(r.get("period", "2026")[:4]),
            "question": r["question"], "answer": float(r["answer"]),
            "respondent_hash": r.get("hash"), "weight": r.get("weight"),
            "duration_s": r.get("duration"), "channel": r.get("channel", "web"),
            "submitted_at": r.get("at"),
        }
        for r in rows
    ]
    schema: dict[str, Any] = {"batch_id": pl.Int32, "response_id": pl.String, "unit_id": pl.String,
              "period": pl.String, "year": pl.Int32, "question": pl.String,
              "answer": pl.Float64, "respondent_hash": pl.String, "weight": pl.Float64,
              "duration_s": pl.Float64, "channel": pl.String, "submitted_at": pl.Datetime("us")}
    con.register("new_answers", pl.DataFrame(full, schema=schema).to_arrow())
    con.execute("INSERT INTO survey_responses BY NAME SELECT * FROM new_answers")
    con.unregister("new_answers")


def response(
    rid: str, unit: str, answers: Mapping[str, float], **attrs: Any
) -> list[dict[str, Any]]:
    return [{"response_id": rid, "unit_id": unit, "question": q, "answer": a, **attrs}
            for q, a in answers.items()]

