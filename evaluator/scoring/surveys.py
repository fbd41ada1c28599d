"""Satisfaction surveys as a survey statistician would treat them (issue 4; docs/surveys.md).

From the respondent-level answers in `current_survey_responses` this module builds, per unit and
survey indicator, a 0–100 satisfaction index with its uncertainty:

1. validity filters flag whole responses (speeders, straight-liners, duplicate respondents,
   answers out of the indicator's scale); flagged responses stay in the database and are only
   left out of the index, and every exclusion is counted under one reason;
2. percent-to-max index with respondent weights, top-box share, Kish effective n, SE, 95% CI;
3. small samples are flagged and, per the scheme, shrunk toward their peer-group mean by
   empirical Bayes, set missing, or kept.

Everything runs as one set-based SQL statement written once as a sqlglot tree (rendered by the
engine for its dialect), so the same statistics run on DuckDB today and on Spark later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import uuid4

import polars as pl
from sqlglot import exp

from evaluator.scheme.models import Scheme, SurveySource
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.errors import ScoringError

#: Exclusion reasons in the fixed order that decides which one a multi-reason response counts
#: under: fabrication signals first (they feed the survey-stuffing flag), data errors last.
EXCLUSION_REASONS: tuple[str, ...] = ("speeder", "straightline", "duplicate", "out_of_scale")

#: Columns of the table `build_survey_indices` returns (run_survey_quality minus run_id).
QUALITY_COLUMNS: tuple[str, ...] = (
    "unit_id", "indicator_id", "responses", "excluded_speeder", "excluded_straightline",
    "excluded_duplicate", "excluded_out_of_scale", "valid", "effective_n", "raw_index",
    "index_value", "se", "ci_low", "ci_high", "top_box_share", "small_sample", "shrinkage",
)

Z95 = 1.96  # two-sided 95% normal quantile, as the methodology note states it
MIN_PEER_UNITS = 3  # a peer group needs this many units with an index to be its own prior

_PERIOD = re.compile(r"^(\d{4})(?:Q[1-4]|-(?:0[1-9]|1[0-2]))?$")


class SurveyError(ScoringError):
    """The survey statistics cannot be computed as asked; the message says what to fix."""


# The whole computation. Placeholders (:name) are bound to literals by `sql()`; `units_src` and
# `survey_questions` are table names replaced by the caller's tables. Step by step:
#   ans        answers in scope (scored units, period); NOT MATERIALIZED: its two readers scan
#              the table again, which costs far less than DuckDB storing 10 M answers once
#              (province: 15.5 s → 7.4 s for the statement)
#   resp       one row per response: weight, duration, channel, respondent, questionnaire size
#              (N_QUESTIONS: a plain count where the answers are keyed by year × response ×
#              question, as in the store; counted DISTINCT where they are read unchecked (Spark
#              `--inputs` may repeat a row), which at province costs 3.5 s more)
#   validity   speeder / straight-liner / duplicate flags per response
#   per_ind    per response and indicator: mean answer, any answer out of scale
#   classified first exclusion reason (0 = valid), percent-to-max value, top-box indicator
#   means      Σw, Σw², weighted mean, top-box share over valid responses
#   moments    with Σw(x − x̄)² (a join back on the means: a window over the rows costs more)
#   unit_est   one row per unit × indicator (zero counts for units without answers)
#   peer / overall  between-unit mean and variance for the empirical-Bayes prior
_TEMPLATE = """
WITH
qmap AS (
    SELECT indicator_id, question, scale_min, scale_max, top_cut FROM survey_questions
),
ind AS (
    SELECT indicator_id, MIN(scale_min) AS scale_min, MAX(scale_max) AS scale_max,
           MIN(top_cut) AS top_cut
    FROM qmap GROUP BY indicator_id
),
scope_units AS (
    SELECT CAST(unit_id AS VARCHAR) AS unit_id, MAX(CAST(peer_group AS VARCHAR)) AS peer_group
    FROM units_src GROUP BY CAST(unit_id AS VARCHAR)
),
ans AS NOT MATERIALIZED (
    SELECT r.unit_id, r.response_id, r.question, r.answer, r.respondent_hash, r.weight,
           r.duration_s, r.channel, r.submitted_at
    FROM current_survey_responses AS r
    JOIN scope_units AS u ON r.unit_id = u.unit_id
    WHERE r.year = :year AND (:whole_year OR r.period = :period)
),
resp AS (
    SELECT unit_id, response_id,
           MAX(respondent_hash) AS respondent_hash,
           COALESCE(MAX(weight), 1.0) AS w,
           MAX(duration_s) AS duration_s,
           COALESCE(MAX(channel), '') AS channel,
           MIN(submitted_at) AS submitted_at,
           N_QUESTIONS AS n_questions,
           MIN(answer) = MAX(answer) AS one_answer
    FROM ans GROUP BY unit_id, response_id
),
chan_median AS (
    SELECT channel, MEDIAN(duration_s) AS med, COUNT(duration_s) AS n
    FROM resp GROUP BY channel
),
all_median AS (
    SELECT MEDIAN(duration_s) AS med FROM resp
),
validity AS (
    SELECT r.unit_id, r.response_id, r.w,
           COALESCE(r.duration_s < :speeder_fraction *
                    (CASE WHEN c.n >= :min_channel_n THEN c.med ELSE a.med END), FALSE)
               AS is_speeder,
           (r.n_questions >= :straight_min AND r.one_answer) AS is_straight,
           (r.respondent_hash IS NOT NULL AND
            ROW_NUMBER() OVER (PARTITION BY r.unit_id, r.respondent_hash
                               ORDER BY r.submitted_at NULLS LAST, r.response_id) > 1)
               AS is_duplicate
    FROM resp AS r
    JOIN chan_median AS c ON r.channel = c.channel
    CROSS JOIN all_median AS a
),
per_ind AS (
    SELECT a.unit_id, a.response_id, q.indicator_id,
           AVG(a.answer) AS mean_answer,
           MAX(CASE WHEN a.answer < q.scale_min OR a.answer > q.scale_max THEN 1 ELSE 0 END)
               AS out_of_scale
    FROM ans AS a JOIN qmap AS q ON a.question = q.question
    GROUP BY a.unit_id, a.response_id, q.indicator_id
),
classified AS (
    SELECT p.unit_id, p.indicator_id, p.response_id, v.w,
           CASE WHEN v.is_speeder THEN 1
                WHEN v.is_straight THEN 2
                WHEN v.is_duplicate THEN 3
                WHEN p.out_of_scale = 1 THEN 4
                ELSE 0 END AS reason,
           100.0 * (p.mean_answer - i.scale_min) / (i.scale_max - i.scale_min) AS pct,
           CASE WHEN p.mean_answer >= i.top_cut THEN 1.0 ELSE 0.0 END AS top
    FROM per_ind AS p
    JOIN validity AS v ON p.unit_id = v.unit_id AND p.response_id = v.response_id
    JOIN ind AS i ON p.indicator_id = i.indicator_id
),
counts AS (
    SELECT unit_id, indicator_id,
           COUNT(*) AS responses,
           SUM(CASE WHEN reason = 1 THEN 1 ELSE 0 END) AS excluded_speeder,
           SUM(CASE WHEN reason = 2 THEN 1 ELSE 0 END) AS excluded_straightline,
           SUM(CASE WHEN reason = 3 THEN 1 ELSE 0 END) AS excluded_duplicate,
           SUM(CASE WHEN reason = 4 THEN 1 ELSE 0 END) AS excluded_out_of_scale,
           SUM(CASE WHEN reason = 0 THEN 1 ELSE 0 END) AS valid
    FROM classified GROUP BY unit_id, indicator_id
),
valid_rows AS (
    SELECT unit_id, indicator_id, response_id, w, pct, top FROM classified WHERE reason = 0
),
means AS (
    SELECT unit_id, indicator_id,
           SUM(w) AS sw, SUM(w * w) AS sw2,
           SUM(w * pct) / NULLIF(SUM(w), 0) AS raw_index,
           SUM(w * top) / NULLIF(SUM(w), 0) AS top_box_share
    FROM valid_rows GROUP BY unit_id, indicator_id
),
moments AS (
    SELECT c.unit_id, c.indicator_id, MAX(c.sw) AS sw, MAX(c.sw2) AS sw2,
           MAX(c.raw_index) AS raw_index, MAX(c.top_box_share) AS top_box_share,
           SUM(v.w * (v.pct - c.raw_index) * (v.pct - c.raw_index)) AS ssq
    FROM means AS c
    JOIN valid_rows AS v ON v.unit_id = c.unit_id AND v.indicator_id = c.indicator_id
    GROUP BY c.unit_id, c.indicator_id
),
unit_est0 AS (
    SELECT g.unit_id, g.peer_group, g.indicator_id,
           COALESCE(c.responses, 0) AS responses,
           COALESCE(c.excluded_speeder, 0) AS excluded_speeder,
           COALESCE(c.excluded_straightline, 0) AS excluded_straightline,
           COALESCE(c.excluded_duplicate, 0) AS excluded_duplicate,
           COALESCE(c.excluded_out_of_scale, 0) AS excluded_out_of_scale,
           COALESCE(c.valid, 0) AS valid,
           m.sw * m.sw / NULLIF(m.sw2, 0) AS n_eff,
           m.raw_index, m.top_box_share,
           CASE WHEN m.sw2 > 0 AND m.sw * m.sw / m.sw2 > 1.0000001
                THEN m.ssq / (m.sw - m.sw2 / m.sw) END AS s2
    FROM (SELECT unit_id, peer_group, indicator_id FROM scope_units CROSS JOIN ind) AS g
    LEFT JOIN counts AS c ON g.unit_id = c.unit_id AND g.indicator_id = c.indicator_id
    LEFT JOIN moments AS m ON g.unit_id = m.unit_id AND g.indicator_id = m.indicator_id
),
pooled AS (
    SELECT indicator_id, SUM((n_eff - 1) * s2) / NULLIF(SUM(n_eff - 1), 0) AS s2_pool
    FROM unit_est0 WHERE s2 IS NOT NULL GROUP BY indicator_id
),
unit_est AS (
    SELECT e.*, p.s2_pool / e.n_eff AS v_pool,
           (e.valid < :min_sample) AS small_sample
    FROM unit_est0 AS e LEFT JOIN pooled AS p ON e.indicator_id = p.indicator_id
),
peer AS (
    SELECT peer_group, indicator_id, COUNT(*) AS k, AVG(raw_index) AS mu,
           VAR_SAMP(raw_index) AS vb, AVG(v_pool) AS mean_v
    FROM unit_est WHERE raw_index IS NOT NULL AND peer_group IS NOT NULL
    GROUP BY peer_group, indicator_id
),
overall AS (
    SELECT indicator_id, COUNT(*) AS k, AVG(raw_index) AS mu,
           VAR_SAMP(raw_index) AS vb, AVG(v_pool) AS mean_v
    FROM unit_est WHERE raw_index IS NOT NULL GROUP BY indicator_id
),
prior AS (
    SELECT e.*,
           CASE WHEN p.k >= :min_peer THEN p.mu ELSE g.mu END AS mu,
           CASE WHEN p.k >= :min_peer THEN p.vb - p.mean_v ELSE g.vb - g.mean_v END AS tau2_mm
    FROM unit_est AS e
    LEFT JOIN peer AS p ON e.peer_group = p.peer_group AND e.indicator_id = p.indicator_id
    LEFT JOIN overall AS g ON e.indicator_id = g.indicator_id
),
shrunk AS (
    SELECT *,
           CASE WHEN tau2_mm IS NULL OR v_pool IS NULL THEN 1.0  -- no prior to shrink to
                WHEN tau2_mm <= 0 THEN (CASE WHEN v_pool > 0 THEN 0.0 ELSE 1.0 END)
                ELSE tau2_mm / (tau2_mm + v_pool) END AS b,
           SQRT(s2 / n_eff) AS se_own
    FROM prior
),
final AS (
    SELECT *,
           CASE WHEN raw_index IS NULL THEN NULL
                WHEN NOT small_sample OR :policy = 'keep' THEN raw_index
                WHEN :policy = 'shrink' THEN b * raw_index + (1 - b) * mu
                ELSE NULL END AS index_value,
           CASE WHEN raw_index IS NULL THEN NULL
                WHEN small_sample AND :policy = 'shrink' AND v_pool IS NOT NULL
                    THEN SQRT(b * v_pool)
                ELSE se_own END AS se,
           CASE WHEN raw_index IS NULL THEN NULL
                WHEN NOT small_sample OR :policy = 'keep' THEN 1.0
                WHEN :policy = 'shrink' THEN b
                ELSE NULL END AS shrinkage
    FROM shrunk
),
centred AS (
    SELECT *, COALESCE(index_value, raw_index) AS centre FROM final
)
SELECT unit_id, indicator_id,
       CAST(responses AS INTEGER) AS responses,
       CAST(excluded_speeder AS INTEGER) AS excluded_speeder,
       CAST(excluded_straightline AS INTEGER) AS excluded_straightline,
       CAST(excluded_duplicate AS INTEGER) AS excluded_duplicate,
       CAST(excluded_out_of_scale AS INTEGER) AS excluded_out_of_scale,
       CAST(valid AS INTEGER) AS valid,
       CAST(n_eff AS DOUBLE) AS effective_n,
       CAST(raw_index AS DOUBLE) AS raw_index,
       CAST(index_value AS DOUBLE) AS index_value,
       CAST(se AS DOUBLE) AS se,
       CAST(CASE WHEN se IS NULL THEN NULL
                 WHEN centre - :z * se < 0 THEN 0.0 ELSE centre - :z * se END AS DOUBLE) AS ci_low,
       CAST(CASE WHEN se IS NULL THEN NULL
                 WHEN centre + :z * se > 100 THEN 100.0 ELSE centre + :z * se END AS DOUBLE)
           AS ci_high,
       CAST(top_box_share AS DOUBLE) AS top_box_share,
       small_sample,
       CAST(shrinkage AS DOUBLE) AS shrinkage
FROM centred
"""


def survey_indicators(scheme: Scheme) -> list[tuple[str, SurveySource]]:
    """(indicator id, survey source) for every survey-sourced indicator, in file order."""
    return [(i.id, i.source) for i in scheme.indicators() if isinstance(i.source, SurveySource)]


def question_map(scheme: Scheme) -> pl.DataFrame:
    """One row per indicator × question with its scale and top-box cut-off (max − top_box + 1)."""
    rows = [
        {
            "indicator_id": ind_id,
            "question": q,
            "scale_min": float(src.scale.min),
            "scale_max": float(src.scale.max),
            "top_cut": float(src.scale.max - src.top_box + 1),
        }
        for ind_id, src in survey_indicators(scheme)
        for q in dict.fromkeys(src.questions)
    ]
    schema = {"indicator_id": pl.String, "question": pl.String, "scale_min": pl.Float64,
              "scale_max": pl.Float64, "top_cut": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def parse_period(period: str) -> tuple[int, bool]:
    """'2026' → (2026, whole year); '2026Q1' / '2026-03' → (2026, exact match only)."""
    m = _PERIOD.match(period.strip()) if isinstance(period, str) else None
    if not m:
        raise SurveyError(
            f"period {period!r} is not a period: use a year (2026), a quarter (2026Q1) or a "
            f"month (2026-03) / 期间 {period!r} 格式错误：应为年份（2026）、季度（2026Q1）"
            "或月份（2026-03）"
        )
    return int(m.group(1)), m.group(0) == m.group(1)


def _check_weights(engine: Engine, units_table: str, year: int, whole: bool, period: str) -> None:
    """Negative weights make every statistic meaningless: refuse them, naming the responses."""
    bad = engine.fetch_polars(sql(
        """
        SELECT DISTINCT r.response_id, r.unit_id, r.weight
        FROM current_survey_responses AS r
        JOIN (SELECT DISTINCT CAST(unit_id AS VARCHAR) AS unit_id FROM units_src) AS u
          ON r.unit_id = u.unit_id
        WHERE r.year = :year AND (:whole_year OR r.period = :period) AND r.weight < 0
        ORDER BY r.response_id LIMIT 6
        """,
        year=year, whole_year=whole, period=period,
    ).transform(_rename_table("units_src", units_table)))
    if bad.height:
        shown = ", ".join(f"{r['response_id']} (unit {r['unit_id']}, weight {r['weight']})"
                          for r in bad.head(5).iter_rows(named=True))
        raise SurveyError(
            f"survey responses with a negative weight: {shown}. Correct the `weight` column of "
            "the surveys file and load it again / 问卷权重不能为负，请更正 weight 列后重新导入"
        )


def _rename_table(old: str, new: str) -> Callable[[exp.Expression], exp.Expression]:
    """A sqlglot transform replacing table `old` by `new` (a quoted, possibly dotted name)."""
    target = exp.to_table(new)

    def fn(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name == old and not node.args.get("db"):
            repl = target.copy()
            if node.alias:
                repl.set("alias", node.args.get("alias"))
            return repl
        return node

    return fn


def _bound_template(engine: Engine, scheme: Scheme, period: str, units_table: str
                    ) -> tuple[exp.Expression, str]:
    """The whole statement with its parameters bound and tables renamed; the registered
    question table (the caller drops it)."""
    year, whole = parse_period(period)
    period = period.strip()
    s = scheme.survey
    questions_table = f"survey_questions_{uuid4().hex[:10]}"
    engine.register(questions_table, question_map(scheme))
    _check_weights(engine, units_table, year, whole, period)
    count = "COUNT(*)" if engine.answers_keyed else "COUNT(DISTINCT question)"
    query = sql(
        _TEMPLATE.replace("N_QUESTIONS", count),
        year=year,
        whole_year=whole,
        period=period,
        speeder_fraction=float(s.speeder_fraction),
        min_channel_n=int(s.min_sample),
        straight_min=int(s.straightline_min_questions),
        min_sample=int(s.min_sample),
        min_peer=MIN_PEER_UNITS,
        policy=s.small_sample,
        z=Z95,
    )
    query = query.transform(_rename_table("units_src", units_table))
    return query.transform(_rename_table("survey_questions", questions_table)), questions_table


def build_valid_responses(engine: Engine, scheme: Scheme, period: str, units_table: str,
                          name: str) -> str:
    """Temporary table `name`: one row per valid response × survey indicator (unit_id,
    indicator_id, response_id, w, pct on 0–100) — the rows the index averages, through the
    same validity filters, for resampling respondents (evaluator.uncertainty)."""
    query, questions_table = _bound_template(engine, scheme, period, units_table)
    rows = exp.select("unit_id", "indicator_id", "response_id", "w", "pct").from_("valid_rows")
    rows.set("with_", query.args["with_"])
    try:
        return create_temp(engine, name, rows)
    finally:
        engine.drop_temp(questions_table)


def build_survey_indices(engine: Engine, scheme: Scheme, period: str, units_table: str,
                         name: str) -> str:
    """Temporary table `name`: survey statistics per unit × survey indicator.

    `units_table` has `unit_id` and `peer_group` (one row per scored unit). Columns of the result
    are QUALITY_COLUMNS, one row per unit × survey-sourced indicator, also for units that have no
    answers (counts 0, index NULL). Responses are read from `current_survey_responses`.
    """
    query, questions_table = _bound_template(engine, scheme, period, units_table)
    try:
        return create_temp(engine, name, query)
    finally:
        engine.drop_temp(questions_table)
