"""Warning flags of a scoring run: show-off units, survey stuffing, small survey samples.

"Doing well is worse than showing off well" (干得好不如晒得好): a unit whose paperwork traces are
far above what its outcomes and citizen satisfaction predict, across the run's units, while those
results are below the median unit's, is flagged `show_off` (a robust line, not fixed quartiles:
docs/fairness.md). A unit with far more fabricated-looking survey responses than the norm is
flagged `survey_stuffing`. A unit whose satisfaction index rests on too few valid responses is flagged
`small_sample`. Each flag carries an evidence text stating the numbers behind it, in English
(`evidence`) and Chinese (`evidence_zh`), so a reader can check it; thresholds and definitions are
in docs/fairness.md (show-off) and docs/surveys.md (the survey flags).

All work is one set-based SQL statement per call, written once as a sqlglot tree.
"""

from __future__ import annotations

from sqlglot import exp

from evaluator.scheme.models import Evidence, Scheme
from evaluator.scoring.engine import Engine, lit, sql

FLAG_KINDS: tuple[str, ...] = ("show_off", "survey_stuffing", "small_sample")

SHOW_OFF_K = 3.0  # flagged: residual more than 3 robust SDs above the fitted line …
SHOW_OFF_TRIM = 2.5  # the line is refitted without units beyond 2.5 robust SDs (the outliers)
SHOW_OFF_MIN_UNITS = 8  # a line and a spread through fewer units say nothing
STUFFING_MIN_SHARE = 0.15  # excluded share (speeders + straight-liners + duplicates) above 15%
STUFFING_MEDIAN_FACTOR = 3.0  # … and above 3× the median unit's share
STUFFING_MIN_COUNT = 5  # … and at least this many such responses (not 1 of 4)

_NUM = "CAST(ROUND({x}, 1) AS VARCHAR)"

# Robust z of a value x within a group: (x − median) / (1.4826 · MAD), falling back to
# 1.2533 · mean absolute deviation when more than half the units share one value (MAD = 0).
_ROBUST_SD = ("COALESCE(NULLIF(1.4826 * MEDIAN(ABS({dev})), 0), "
              "NULLIF(1.2533 * AVG(ABS({dev})), 0))")

# The show-off detector (docs/fairness.md): trace intensity t (mean robust z of the unit's
# log-scaled raw trace values) against substance s (mean of its outcome and satisfaction scores),
# a line t = a + b·s fitted across units (least squares, refitted without the units beyond
# :trim robust SDs), flagged when the unit's residual is more than :k robust SDs above the median
# residual and its substance is below the run's median.
_SHOW_OFF = f"""
WITH
ris AS (SELECT unit_id, indicator_id, evidence, raw_value, score FROM {{indicators}}),
tr AS (
    SELECT unit_id, indicator_id, SIGN(raw_value) * LN(1 + ABS(raw_value)) AS x
    FROM ris WHERE evidence = 'trace' AND raw_value IS NOT NULL
),
tr_med AS (SELECT indicator_id, MEDIAN(x) AS med FROM tr GROUP BY indicator_id),
tr_dev AS (
    SELECT tr.unit_id, tr.indicator_id, tr.x - m.med AS dev
    FROM tr JOIN tr_med AS m ON tr.indicator_id = m.indicator_id
),
tr_sd AS (
    SELECT indicator_id, {_ROBUST_SD.format(dev="dev")} AS sd FROM tr_dev GROUP BY indicator_id
),
tr_z AS (
    SELECT d.unit_id, d.indicator_id, d.dev / s.sd AS z,
           ROW_NUMBER() OVER (PARTITION BY d.unit_id ORDER BY d.dev / s.sd DESC, d.indicator_id)
               AS pos
    FROM tr_dev AS d JOIN tr_sd AS s ON d.indicator_id = s.indicator_id
    WHERE s.sd IS NOT NULL
),
trace_u AS (
    SELECT unit_id, AVG(z) AS t, COUNT(*) AS n_trace,
           MAX(CASE WHEN pos = 1 THEN indicator_id END) AS top_id,
           MAX(CASE WHEN pos = 1 THEN z END) AS top_z
    FROM tr_z GROUP BY unit_id
),
class_u AS (
    SELECT unit_id, evidence, AVG(score) AS mean_score
    FROM ris WHERE evidence IN ('outcome', 'satisfaction') AND score IS NOT NULL
    GROUP BY unit_id, evidence
),
subst_u AS (
    SELECT unit_id, AVG(mean_score) AS s,
           MAX(CASE WHEN evidence = 'outcome' THEN mean_score END) AS outcome_score,
           MAX(CASE WHEN evidence = 'satisfaction' THEN mean_score END) AS sat_score
    FROM class_u GROUP BY unit_id
),
j AS (
    SELECT t.unit_id, t.t, t.n_trace, t.top_id, t.top_z, s.s, s.outcome_score, s.sat_score
    FROM trace_u AS t JOIN subst_u AS s ON t.unit_id = s.unit_id
),
fit0 AS (SELECT REGR_SLOPE(t, s) AS b, REGR_INTERCEPT(t, s) AS a FROM j),
r0 AS (SELECT j.*, j.t - (f.a + f.b * j.s) AS r FROM j CROSS JOIN fit0 AS f),
m0 AS (SELECT MEDIAN(r) AS mr FROM r0),
sd0 AS (SELECT {_ROBUST_SD.format(dev="r0.r - m0.mr")} AS sd FROM r0 CROSS JOIN m0),
fit1 AS (
    SELECT REGR_SLOPE(r0.t, r0.s) AS b, REGR_INTERCEPT(r0.t, r0.s) AS a
    FROM r0 CROSS JOIN m0 CROSS JOIN sd0
    WHERE ABS(r0.r - m0.mr) <= :trim * sd0.sd
),
r1 AS (SELECT j.*, j.t - (f.a + f.b * j.s) AS r FROM j CROSS JOIN fit1 AS f),
m1 AS (SELECT MEDIAN(r) AS mr, MEDIAN(s) AS s_med, COUNT(*) AS n_units FROM r1),
sd1 AS (SELECT {_ROBUST_SD.format(dev="r1.r - m1.mr")} AS sd FROM r1 CROSS JOIN m1),
scored AS (
    SELECT r1.*, (r1.r - m1.mr) / sd1.sd AS rz, m1.s_med, m1.n_units
    FROM r1 CROSS JOIN m1 CROSS JOIN sd1
)
SELECT CAST(:run_id AS VARCHAR) AS run_id, unit_id, 'show_off' AS flag,
       '留痕强度 ' || {_NUM.format(x="t")} || '（' || CAST(n_trace AS VARCHAR)
       || '项留痕指标稳健z值均值，最高为 ' || :top_zh || ' ' || {_NUM.format(x="top_z")}
       || '），实绩 ' || {_NUM.format(x="s")} || '（成效指标均分 '
       || COALESCE({_NUM.format(x="outcome_score")}, '—') || '，满意度指标均分 '
       || COALESCE({_NUM.format(x="sat_score")}, '—') || '）：高出按' || CAST(n_units AS VARCHAR)
       || '个单位拟合的实绩—留痕关系线 ' || {_NUM.format(x="rz")} || ' 个稳健标准差（阈值 '
       || CAST(:k AS VARCHAR) || '），实绩低于各单位中位数 ' || {_NUM.format(x="s_med")}
       AS evidence_zh,
       'trace intensity ' || {_NUM.format(x="t")} || ' (mean robust z of '
       || CAST(n_trace AS VARCHAR) || ' trace measures, highest ' || :top_en || ' '
       || {_NUM.format(x="top_z")} || ') against substance ' || {_NUM.format(x="s")}
       || ' (mean outcome score ' || COALESCE({_NUM.format(x="outcome_score")}, '—')
       || ', mean satisfaction score ' || COALESCE({_NUM.format(x="sat_score")}, '—')
       || '): ' || {_NUM.format(x="rz")} || ' robust SDs above the line fitted across '
       || CAST(n_units AS VARCHAR) || ' units (threshold ' || CAST(:k AS VARCHAR)
       || '), substance below the median unit''s ' || {_NUM.format(x="s_med")} AS evidence
FROM scored
WHERE n_units >= :min_units AND s < s_med AND rz > :k
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


#: the run's indicator rows as the flags read them, by default the stored ones
STORED_INDICATORS = "(SELECT * FROM run_indicator_scores WHERE run_id = :run_id) AS i"


def flag_rows(scheme: Scheme, run_id: str, indicators: str = STORED_INDICATORS
              ) -> exp.Expression:
    """The run's show_off, survey_stuffing and small_sample rows (`FLAG_COLUMNS`), as one query
    over the run's indicator rows and `run_survey_quality` of `run_id`.

    `indicators`: a FROM item with `run_indicator_scores`' columns for the run (scoring passes
    its own tables: the same rows, without the stored view's joins). Any engine runs it.
    """
    policy_zh, policy_en = _POLICY_TEXT[scheme.survey.small_sample]
    parts = [
        sql(_SHOW_OFF.format(indicators=indicators), run_id=run_id,
            min_units=SHOW_OFF_MIN_UNITS, k=SHOW_OFF_K,
            trim=SHOW_OFF_TRIM, top_zh=_trace_name(scheme, "zh"), top_en=_trace_name(scheme, "en")),
        sql(_STUFFING, run_id=run_id, min_share=STUFFING_MIN_SHARE,
            factor=STUFFING_MEDIAN_FACTOR, min_count=STUFFING_MIN_COUNT),
        sql(_SMALL, run_id=run_id, min_sample=scheme.survey.min_sample,
            policy_zh=policy_zh, policy_en=policy_en),
    ]
    return exp.union(*[_select_all(p, k) for k, p in zip(FLAG_KINDS, parts, strict=True)],
                     distinct=False)


def _trace_name(scheme: Scheme, lang: str) -> exp.Expression:
    """The evidence names the unit's most extreme trace indicator as readers know it (its scheme
    name in the evidence's language), not by its code; an id the scheme does not name stays."""
    top = exp.column("top_id")
    ifs = [exp.If(this=exp.EQ(this=top.copy(), expression=lit(ind.id)),
                  true=lit(ind.name.zh if lang == "zh" else ind.name.en))
           for ind in scheme.indicators() if ind.evidence is Evidence.trace]
    return exp.Case(ifs=ifs, default=top) if ifs else top


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
