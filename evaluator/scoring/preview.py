"""What a draft scheme would do to the loaded data: scores, ranks and grades, nothing stored.

The scheme editor calls this while the office edits. It opens the database READ-ONLY (the
dashboard's snapshot), runs the scoring steps into connection-local temporary tables with the
same code as a stored run (`evaluator.scoring.run.compute`), and never writes a run.

Editing is mostly weights, the tree, grades and items; those change only the aggregation. So
the indicator scores (0–100, the slow part: roll-ups, survey indices, rules) are kept from the
previous call and only the steps after them run again — `aggregate`, `build_adjustments`,
`assign_grades` and the ranks, the very functions a stored run uses — whenever every indicator
of the draft scores from the same inputs (source, direction, transform, rule, missing policy)
under the same unit types and survey settings. When only some indicators' rule or direction
changed, those indicators alone are scored again first (`rules.rescore_indicators`). A draft
that moves or drops indicators changes which units have own data on a node (`values.COVERAGE`):
the coverage is rebuilt from the kept indicator rows, and the kept scores stand only when every
indicator row keeps its own dimension's coverage (which decided its imputation). Anything
else recomputes from the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from evaluator.scheme.models import Scheme
from evaluator.scoring import aggregate as agg
from evaluator.scoring.adjust import ADJUST, build_adjustments, final_score_sql
from evaluator.scoring.engine import DuckDBEngine, create_temp, sql
from evaluator.scoring.grades import assign_grades, ranks_sql
from evaluator.scoring.reuse import Inputs, indicator_inputs, rule_changes
from evaluator.scoring.rules import INDICATOR_SCORES, rescore_indicators
from evaluator.scoring.run import SCORES, compute, round_in_scale
from evaluator.scoring.values import COVERAGE, UNITS, build_coverage

PREVIEW_SCORES = "_pv_scores"
COLUMNS = ["unit_id", "unit_name", "score", "rank", "grade"]


@dataclass(frozen=True)
class PreviewResult:
    scores: pl.DataFrame  # unit_id, unit_name, score, rank, grade
    reused: bool  # True: indicator scores were reused (aggregation only, but `rescored`)
    seconds: float
    rescored: tuple[str, ...] = ()  # indicators scored again (their rule or direction changed)


Tree = tuple[tuple[str, tuple[str, ...]], ...]


def _tree(scheme: Scheme) -> Tree:
    """Each indicator with the dimensions above it: what the coverage of every node depends on."""
    return tuple((ind.id, tuple(d.id for d in chain)) for chain, ind in scheme.indicator_paths())


class Preview:
    """Scores drafts of a scheme on one read-only database and period, reusing what it can."""

    def __init__(self, db: str | Path, period: str):
        self.period = str(period)
        self.con = duckdb.connect(str(db), read_only=True)
        self.con.execute("SET threads = 1").fetchall()  # the same sums, digit for digit, as a run
        self.engine = DuckDBEngine(self.con)
        self._inputs: Inputs | None = None
        self._tree: Tree | None = None  # the tree the kept coverage was built for

    def close(self) -> None:
        self.con.close()

    def score(self, scheme: Scheme) -> PreviewResult:
        """Scores, ranks and grades of every unit under `scheme` (a `ScoringError` explains
        why not, e.g. no data for the period)."""
        start = time.perf_counter()
        inputs = indicator_inputs(scheme)
        changed = rule_changes(self._inputs, inputs) if self._inputs is not None else None
        if changed is not None and _tree(scheme) != self._tree and not self._coverage_holds(scheme):
            changed = None
        if changed is not None:
            if changed:
                kept, common = self._inputs or ({}, {})
                self._inputs = None  # half-rescored tables are not reusable
                rescore_indicators(self.engine, scheme, changed)
                self._inputs = ({**kept, **{k: inputs[0][k] for k in changed}}, common)
            self._reaggregate(scheme)
            table = PREVIEW_SCORES
        else:
            self._inputs = None
            compute(self.engine, scheme, self.period)
            self._inputs = inputs
            self._tree = _tree(scheme)
            table = SCORES
        scores = self.engine.fetch_polars(sql(
            f"SELECT unit_id, unit_name, score, rank, grade FROM {table} ORDER BY unit_id"))
        return PreviewResult(scores, changed is not None, time.perf_counter() - start,
                             tuple(sorted(changed or ())))

    def _coverage_holds(self, scheme: Scheme) -> bool:
        """Rebuild `COVERAGE` for the draft's tree from the kept indicator rows; whether every
        indicator row's own-dimension coverage stays as it was (else the kept rows are not the
        draft's: imputation and the `zero` policy read it)."""
        self._tree = None
        build_coverage(self.engine, scheme, INDICATOR_SCORES)
        self.engine.register("_pv_dims", pl.DataFrame(
            [{"indicator_id": ind.id, "dimension_id": chain[-1].id}
             for chain, ind in scheme.indicator_paths()],
            schema={"indicator_id": pl.String, "dimension_id": pl.String}))
        moved = self.engine.fetch_polars(sql(
            f"""
            SELECT COUNT(*) AS n FROM {INDICATOR_SCORES} i
            JOIN _pv_dims d ON d.indicator_id = i.indicator_id
            JOIN {COVERAGE} c ON c.unit_id = i.unit_id AND c.node_id = d.dimension_id
            WHERE c.covered IS DISTINCT FROM i.covered
            """))
        if moved["n"][0]:
            return False
        self._tree = _tree(scheme)
        return True

    def _reaggregate(self, scheme: Scheme) -> None:
        """The steps after the indicator scores, exactly as `compute` runs them (no ranges,
        no declared-weight ranking: the preview shows the score, rank and grade)."""
        self.engine.register(agg.WEIGHTS, agg.weights_frame(scheme))
        nodes = agg.aggregate(self.engine, scheme, "w_eff")
        build_adjustments(self.engine, scheme, int(self.period))
        lo, hi = scheme.scale.min, scheme.scale.max
        create_temp(self.engine, "_pv_base", sql(
            f"""
            SELECT u.unit_id, u.unit_name, u.pg, a.veto_grade_ord,
                   :lo + (:hi - :lo) * t.score / 100.0 AS base_score
            FROM {UNITS} u
            LEFT JOIN {nodes} t ON t.unit_id = u.unit_id AND t.node_id = :root
            LEFT JOIN {ADJUST} a ON a.unit_id = u.unit_id
            """, lo=lo, hi=hi, root=agg.ROOT))
        create_temp(self.engine, "_pv_final", sql(
            f"""
            SELECT b.*, {round_in_scale('(' + final_score_sql('b.base_score') + ')')} AS score,
                   CAST(NULL AS DOUBLE) AS score_declared
            FROM _pv_base b JOIN {ADJUST} a ON a.unit_id = b.unit_id
            """, scale_lo=lo, scale_hi=scheme.score_ceiling, dec=scheme.scale.decimals))
        grades = assign_grades(self.engine, scheme, "_pv_final")
        create_temp(self.engine, PREVIEW_SCORES, sql(
            f"""
            SELECT *, {ranks_sql()} FROM (
                SELECT s.*, g.code AS grade FROM _pv_final s
                LEFT JOIN {grades.grades} gr ON gr.unit_id = s.unit_id
                LEFT JOIN {grades.items} g ON g.ord = gr.ord)
            """))

    def against_run(self, result: PreviewResult, run_id: str) -> pl.DataFrame:
        """Each unit's stored score, rank and grade in `run_id` beside the draft's, with the
        rank move (positive: the draft ranks the unit higher)."""
        stored = self.con.sql(
            "SELECT unit_id, score AS score_run, rank AS rank_run, grade AS grade_run "
            "FROM run_scores WHERE run_id = $run", params={"run": run_id}).pl()
        draft = result.scores.rename({"score": "score_draft", "rank": "rank_draft",
                                      "grade": "grade_draft"})
        return (draft.join(stored, on="unit_id", how="full", coalesce=True)
                .with_columns((pl.col("rank_run") - pl.col("rank_draft")).alias("rank_move"),
                              (pl.col("score_draft") - pl.col("score_run")).alias("score_change"),
                              (pl.col("grade_draft") != pl.col("grade_run")).alias("grade_changed"))
                .sort("rank_draft", nulls_last=True))
