"""Warning flags of a scoring run: show-off units, survey stuffing, small survey samples.

"Doing well is worse than showing off well" (干得好不如晒得好): a unit whose paperwork traces are
among the highest while its outcomes and citizen satisfaction are among the lowest is flagged
`show_off`. A unit with far more fabricated-looking survey responses than the norm is flagged
`survey_stuffing`. A unit whose satisfaction index rests on too few valid responses is flagged
`small_sample`. Each flag carries an evidence text stating the numbers behind it, in English
(`evidence`) and Chinese (`evidence_zh`), so a reader can check it; thresholds and definitions are
in docs/surveys.md.

All work is one set-based SQL statement per call, written once as a sqlglot tree.
"""

from __future__ import annotations

from sqlglot import exp

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import Engine, sql

FLAG_KINDS: tuple[str, ...] = ("show_off", "survey_stuffing", "small_sample")

SHOW_OFF_TRACE_MIN = 0.75  # trace activity in the top quartile of the run's units …
SHOW_OFF_RESULTS_MAX = 0.25  # … while outcomes + satisfaction are in the bottom quartile
SHOW_OFF_MIN_UNITS = 8  # quartiles of fewer units say nothing
STUFFING_MIN_SHARE = 0.15  # excluded share (speeders + straight-liners + duplicates) above 15%
STUFFING_MEDIAN_FACTOR = 3.0  # … and above 3× the median unit's share
STUFFING_MIN_COUNT = 5  # … and at least this many such responses (not 1 of 4)

# Percentile of a value among the run's units by mid-rank: ties share the middle of their ranks,
# so a measure where most units tie (e.g. a pass/fail count) does not push anyone to the top.
_MIDRANK = """
(RANK() OVER (PARTITION BY {part} ORDER BY {col}) - 1
 + (COUNT(*) OVER (PARTITION BY {part}, {col}) - 1) / 2.0)
/ NULLIF(COUNT(*) OVER (PARTITION BY {part}) - 1, 0)
"""


def _midrank(col: str, part: str = "one") -> str:
    return _MIDRANK.format(col=col, part=part)


_PCT = "CAST(CAST(ROUND(100 * {x}) AS INTEGER) AS VARCHAR)"
_NUM = "CAST(ROUND({x}, 1) AS VARCHAR)"

_SHOW_OFF = f"""
WITH
ris AS (
    SELECT unit_id, indicator_id, evidence, raw_value, score, 1 AS one
    FROM run_indicator_scores WHERE run_id = :run_id
),
trace_p AS (
    SELECT unit_id, indicator_id, {_midrank("raw_value", "indicator_id")} AS p
    FROM ris WHERE evidence = 'trace' AND raw_value IS NOT NULL
),
trace_u AS (
    SELECT unit_id, SUM(p ORDER BY p) / COUNT(p) AS trace_level, COUNT(*) AS n_trace, 1 AS one
    FROM trace_p WHERE p IS NOT NULL GROUP BY unit_id
),
class_u AS (
    SELECT unit_id, evidence, SUM(score ORDER BY score) / COUNT(score) AS mean_score, 1 AS one
    FROM ris WHERE evidence IN ('outcome', 'satisfaction') AND score IS NOT NULL
    GROUP BY unit_id, evidence
),
class_p AS (
    SELECT unit_id, evidence, mean_score, {_midrank("mean_score", "evidence")} AS p
    FROM class_u
),
results_u AS (
    SELECT unit_id, SUM(p ORDER BY p) / COUNT(p) AS results_level, 1 AS one,
           MAX(CASE WHEN evidence = 'outcome' THEN mean_score END) AS outcome_score,
           MAX(CASE WHEN evidence = 'satisfaction' THEN mean_score END) AS sat_score
    FROM class_p GROUP BY unit_id
),
joined AS (
    SELECT t.unit_id, t.n_trace, r.outcome_score, r.sat_score, 1 AS one,
           t.trace_level, r.results_level
    FROM trace_u AS t JOIN results_u AS r ON t.unit_id = r.unit_id
),
ranked AS (
    SELECT *, {_midrank("trace_level")} AS trace_rank,
           {_midrank("results_level")} AS results_rank,
           COUNT(*) OVER (PARTITION BY one) AS n_units
    FROM joined
)
SELECT CAST(:run_id AS VARCHAR) AS run_id, unit_id, 'show_off' AS flag,
       '留痕类指标居前：' || CAST(n_trace AS VARCHAR) || '项留痕指标综合位于第'
       || {_PCT.format(x="trace_rank")} || '百分位；成效与满意度居后：综合位于第'
       || {_PCT.format(x="results_rank")} || '百分位（成效指标均分 '
       || COALESCE({_NUM.format(x="outcome_score")}, '—') || '，满意度指标均分 '
       || COALESCE({_NUM.format(x="sat_score")}, '—') || '，共' || CAST(n_units AS VARCHAR)
       || '个单位）' AS evidence_zh,
       CAST(n_trace AS VARCHAR)
       || ' trace measures together at percentile ' || {_PCT.format(x="trace_rank")}
       || ', outcomes and satisfaction together at percentile '
       || {_PCT.format(x="results_rank")} || ' (mean outcome score '
       || COALESCE({_NUM.format(x="outcome_score")}, '—') || ', mean satisfaction score '
       || COALESCE({_NUM.format(x="sat_score")}, '—') || ', among '
       || CAST(n_units AS VARCHAR) || ' units)' AS evidence
FROM ranked
WHERE n_units >= :min_units AND trace_rank >= :trace_min AND results_rank <= :results_max
"""

# Survey counts per unit come from the unit's survey indicator with the most responses (the
# validity filters judge whole responses, so every indicator row sees the same exclusions of the
# responses that answered it; summing over indicators would count a response several times).
_STUFFING = """
WITH
q AS (
    SELECT unit_id, responses, excluded_speeder, excluded_straightline, excluded_duplicate,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY responses DESC, indicator_id) AS rn
    FROM run_survey_quality WHERE run_id = :run_id AND responses > 0
),
u AS (
    SELECT unit_id, responses, excluded_speeder AS sp, excluded_straightline AS sl,
           excluded_duplicate AS dup,
           excluded_speeder + excluded_straightline + excluded_duplicate AS bad,
           (excluded_speeder + excluded_straightline + excluded_duplicate) * 1.0 / responses
               AS share
    FROM q WHERE rn = 1
),
norm AS (SELECT MEDIAN(share) AS med FROM u)
SELECT CAST(:run_id AS VARCHAR) AS run_id, unit_id, 'survey_stuffing' AS flag,
       '问卷异常比例过高：' || CAST(responses AS VARCHAR) || '份中' || CAST(bad AS VARCHAR)
       || '份被剔除（答题过快 ' || CAST(sp AS VARCHAR) || '，直线作答 ' || CAST(sl AS VARCHAR)
       || '，重复作答 ' || CAST(dup AS VARCHAR) || '），占 '
       || CAST(ROUND(100 * share, 1) AS VARCHAR) || '%，各单位中位数 '
       || CAST(ROUND(100 * med, 1) AS VARCHAR) || '%' AS evidence_zh,
       CAST(bad AS VARCHAR) || ' of ' || CAST(responses AS VARCHAR)
       || ' responses excluded (speeders ' || CAST(sp AS VARCHAR) || ', straight-liners '
       || CAST(sl AS VARCHAR) || ', duplicates ' || CAST(dup AS VARCHAR) || ') = '
       || CAST(ROUND(100 * share, 1) AS VARCHAR) || '%, median unit '
       || CAST(ROUND(100 * med, 1) AS VARCHAR) || '%' AS evidence
FROM u CROSS JOIN norm
WHERE share > :min_share AND share > :factor * med AND bad >= :min_count
"""

_SMALL = """
WITH
s AS (
    SELECT unit_id, indicator_id, valid, shrinkage, index_value
    FROM run_survey_quality WHERE run_id = :run_id AND small_sample
)
SELECT CAST(:run_id AS VARCHAR) AS run_id, unit_id, 'small_sample' AS flag,
       '有效问卷少于' || CAST(:min_sample AS VARCHAR) || '份（' || :policy_zh || '）：'
       || STRING_AGG(indicator_id || ' ' || CAST(valid AS VARCHAR), '，' ORDER BY indicator_id)
           AS evidence_zh,
       'fewer than ' || CAST(:min_sample AS VARCHAR) || ' valid responses ('
       || :policy_en || '): '
       || STRING_AGG(indicator_id || ' ' || CAST(valid AS VARCHAR)
                     || COALESCE(' (weight on own mean '
                                 || CAST(ROUND(shrinkage, 2) AS VARCHAR) || ')', ''),
                     ', ' ORDER BY indicator_id) AS evidence
FROM s GROUP BY unit_id
"""

_POLICY_TEXT = {
    "shrink": ("指数已向同类单位均值收缩", "index shrunk toward the peer-group mean"),
    "missing": ("指数按缺失处理", "index treated as missing"),
    "keep": ("指数照常使用", "index used as is"),
}


def _select_all(query: exp.Expression, alias: str) -> exp.Select:
    """SELECT * FROM (query) AS alias: lets WITH-queries be UNION ALL-ed portably."""
    sub = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))
    return exp.select("*").from_(sub)


def flag_rows(scheme: Scheme, run_id: str) -> exp.Expression:
    """The run's show_off, survey_stuffing and small_sample rows (`FLAG_COLUMNS`), as one query
    over `run_indicator_scores` and `run_survey_quality` of `run_id`.

    Any engine runs it: on DuckDB over the stored tables, on Spark over the run's own rows.
    """
    policy_zh, policy_en = _POLICY_TEXT[scheme.survey.small_sample]
    parts = [
        sql(_SHOW_OFF, run_id=run_id, min_units=SHOW_OFF_MIN_UNITS,
            trace_min=SHOW_OFF_TRACE_MIN, results_max=SHOW_OFF_RESULTS_MAX),
        sql(_STUFFING, run_id=run_id, min_share=STUFFING_MIN_SHARE,
            factor=STUFFING_MEDIAN_FACTOR, min_count=STUFFING_MIN_COUNT),
        sql(_SMALL, run_id=run_id, min_sample=scheme.survey.min_sample,
            policy_zh=policy_zh, policy_en=policy_en),
    ]
    return exp.union(*[_select_all(p, k) for k, p in zip(FLAG_KINDS, parts, strict=True)],
                     distinct=False)


FLAG_COLUMNS: tuple[str, ...] = ("run_id", "unit_id", "flag", "evidence_zh", "evidence")


def compute_flags(engine: Engine, scheme: Scheme, run_id: str) -> None:
    """Write the run's show_off, survey_stuffing and small_sample rows into run_flags.

    Reads run_indicator_scores and run_survey_quality of `run_id`. Replaces any flags of these
    kinds already stored for the run, so calling it twice leaves one set. The caller owns the
    transaction that makes the run all-or-nothing.
    """
    rows = flag_rows(scheme, run_id)
    engine.execute(sql("DELETE FROM run_flags WHERE run_id = :run_id AND flag IN :kinds",
                       run_id=run_id, kinds=FLAG_KINDS))
    engine.execute(exp.insert(rows, "run_flags", columns=list(FLAG_COLUMNS)))
