"""Every query the dashboard runs, read-only and keyed on a run id.

Pages call only these functions, so who may see which run (office / leadership / unit) can later be
enforced here, in one place. Nothing here scores: it reads the stored run tables and reshapes them
(joins, medians, deltas, the funnel limits drawn around stored satisfaction indices). Results are
polars DataFrames whose columns are stable ids; the dashboard translates headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from evaluator.lint import builtin_rules, lint_scheme
from evaluator.runs import RunInfo, flag_evidence_sql, read_run, stored_scheme
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.models import Scheme

Con = duckdb.DuckDBPyConnection

GRADE_ORDER_DEFAULT = ("excellent", "good", "fair", "poor")


def _df(con: Con, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or None).pl()


def _one(con: Con, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """First row or None; fetches everything so the connection is free for the next query."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _lang_col(prefix: str, lang: str) -> str:
    return f"{prefix}_{'zh' if lang == 'zh' else 'en'}"


# --------------------------------------------------------------------------- database state


@dataclass(frozen=True)
class DbState:
    """What the database holds, so an empty one gets a helpful page instead of an error."""

    has_schema: bool
    units: int = 0
    outcome_rows: int = 0
    survey_rows: int = 0
    batches: int = 0
    runs: int = 0
    latest_period: str | None = None  # of the loaded outcomes or surveys: what to score next

    @property
    def has_data(self) -> bool:
        return self.units + self.outcome_rows + self.survey_rows > 0


def db_state(con: Con) -> DbState:
    tables = set(
        _df(con, "SELECT table_name FROM information_schema.tables")["table_name"].to_list()
    )
    if not {"runs", "run_scores", "load_batches"} <= tables:
        return DbState(has_schema=False)
    row = _one(
        con,
        "SELECT (SELECT count(*) FROM current_units), (SELECT count(*) FROM outcomes), "
        "(SELECT count(*) FROM survey_responses), (SELECT count(*) FROM load_batches), "
        "(SELECT count(*) FROM runs), "
        "(SELECT max(period) FROM (SELECT period FROM outcomes UNION ALL "
        " SELECT period FROM survey_responses))",
    )
    assert row is not None
    units, outcomes, surveys, batches, runs, period = row
    return DbState(
        True,
        units=int(units),
        outcome_rows=int(outcomes),
        survey_rows=int(surveys),
        batches=int(batches),
        runs=int(runs),
        latest_period=period,
    )


# --------------------------------------------------------------------------- runs


def list_runs(con: Con) -> pl.DataFrame:
    """All runs, newest first, with the number of units scored."""
    return _df(
        con,
        """
        SELECT r.run_id, r.created_at, r.period, r.scheme_id, r.scheme_version,
               r.scheme_name_zh, r.scheme_name_en, r.lint_errors, r.published,
               (SELECT count(*) FROM run_scores s WHERE s.run_id = r.run_id) AS units
        FROM runs r ORDER BY r.created_at DESC, r.run_id DESC
        """,
    )


def latest_run_id(con: Con) -> str | None:
    row = _one(con, "SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 1")
    return str(row[0]) if row else None


def run_info(con: Con, run_id: str) -> RunInfo | None:
    return read_run(con, run_id)


def previous_run_id(con: Con, run_id: str) -> str | None:
    """The latest run of the same scheme for the closest earlier period (for movers)."""
    row = _one(
        con,
        """
        SELECT p.run_id FROM runs p, runs c
        WHERE c.run_id = ? AND p.scheme_id = c.scheme_id AND p.period < c.period
        ORDER BY p.period DESC, p.created_at DESC LIMIT 1
        """,
        [run_id],
    )
    return str(row[0]) if row else None


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class SchemeLabels:
    """Bilingual names of the run's dimensions, indicators and grades (from the run's scheme)."""

    nodes: pl.DataFrame  # node_id, kind, name_zh, name_en
    grades: pl.DataFrame  # code, name_zh, name_en, grade_order
    scheme: Scheme | None

    def node_name(self, node_id: str, lang: str) -> str:
        hit = self.nodes.filter(pl.col("node_id") == node_id)
        return str(hit[_lang_col("name", lang)][0]) if hit.height else node_id


def _loaded_scheme(con: Con, run_id: str) -> LoadedScheme | None:
    """The run's own scheme (an unreadable one only costs the page its labels, never the page)."""
    row = _one(con, "SELECT scheme_yaml FROM runs WHERE run_id = ?", [run_id])
    return stored_scheme(row[0], run_id) if row and row[0] else None


def scheme_labels(con: Con, run_id: str) -> SchemeLabels:
    loaded = _loaded_scheme(con, run_id)
    scheme = loaded.scheme if loaded else None
    node_rows: list[dict[str, str]] = []
    grade_rows: list[dict[str, Any]] = []
    if scheme is not None:
        node_rows += [
            {"node_id": d.id, "kind": "dimension", "name_zh": d.name.zh, "name_en": d.name.en}
            for d in scheme.all_dimensions()
        ]
        node_rows += [
            {"node_id": i.id, "kind": "indicator", "name_zh": i.name.zh, "name_en": i.name.en}
            for i in scheme.indicators()
        ]
        grade_rows = [
            {"code": g.code, "name_zh": g.name.zh, "name_en": g.name.en, "grade_order": n}
            for n, g in enumerate(scheme.grades)
        ]
    else:  # fall back to ids so pages still render
        node_rows = _df(
            con,
            "SELECT node_id, node_kind AS kind, node_id AS name_zh, node_id AS name_en "
            "FROM run_weights WHERE run_id = ?",
            [run_id],
        ).to_dicts()
        grade_rows = [
            {"code": c, "name_zh": c, "name_en": c, "grade_order": n}
            for n, c in enumerate(GRADE_ORDER_DEFAULT)
        ]
    schema_n = {"node_id": pl.String, "kind": pl.String, "name_zh": pl.String, "name_en": pl.String}
    schema_g = {
        "code": pl.String,
        "name_zh": pl.String,
        "name_en": pl.String,
        "grade_order": pl.Int64,
    }
    return SchemeLabels(
        nodes=pl.DataFrame(node_rows, schema=schema_n),
        grades=pl.DataFrame(grade_rows, schema=schema_g),
        scheme=scheme,
    )


def _with_names(
    df: pl.DataFrame, labels: SchemeLabels, id_col: str, out_col: str, lang: str
) -> pl.DataFrame:
    names = labels.nodes.select(
        pl.col("node_id").alias(id_col), pl.col(_lang_col("name", lang)).alias(out_col)
    ).unique(id_col)
    return df.join(names, on=id_col, how="left", maintain_order="left").with_columns(
        pl.col(out_col).fill_null(pl.col(id_col))
    )


def _in_scheme_order(
    df: pl.DataFrame, labels: SchemeLabels, id_col: str, *then: str, keep: bool = False
) -> pl.DataFrame:
    """Rows in the order the scheme declares `id_col` (unknown ids last), then by `then`;
    `keep` leaves the `node_order` column for pages that sort again."""
    order = labels.nodes.with_row_index("node_order").select(
        pl.col("node_id").alias(id_col), "node_order"
    )
    out = df.join(order, on=id_col, how="left").sort("node_order", *then, nulls_last=True)
    return out if keep else out.drop("node_order")


def _with_grade(df: pl.DataFrame, labels: SchemeLabels, lang: str) -> pl.DataFrame:
    grades = labels.grades.select(
        pl.col("code").alias("grade"),
        pl.col(_lang_col("name", lang)).alias("grade_name"),
        "grade_order",
    )
    return df.join(grades, on="grade", how="left").with_columns(
        pl.col("grade_name").fill_null(pl.col("grade"))
    )


def grade_codes(con: Con, run_id: str) -> list[str]:
    """The run's grade codes, best first (the scheme's order: what grade colours follow)."""
    return [str(c) for c in scheme_labels(con, run_id).grades["code"].to_list()]


def score_decimals(con: Con, run_id: str) -> int:
    """Decimals the run's scheme shows scores with (`scale.decimals`; 2 when unknown)."""
    scheme = scheme_labels(con, run_id).scheme
    return int(scheme.scale.decimals) if scheme is not None else 2


# --------------------------------------------------------------------------- overview


def filter_options(con: Con, run_id: str) -> dict[str, list[str]]:
    df = _df(
        con, "SELECT DISTINCT unit_type, peer_group FROM run_scores WHERE run_id = ?", [run_id]
    )
    return {
        "unit_type": sorted(v for v in df["unit_type"].unique().to_list() if v is not None),
        "peer_group": sorted(v for v in df["peer_group"].unique().to_list() if v is not None),
    }


def league_table(
    con: Con,
    run_id: str,
    lang: str = "zh",
    unit_types: list[str] | None = None,
    peer_groups: list[str] | None = None,
    search: str | None = None,
) -> pl.DataFrame:
    """Scores, ranks (with interval when computed), grades and flags, best first."""
    df = _df(
        con,
        """
        SELECT s.rank, s.unit_id, s.unit_name, s.unit_type, s.peer_group, s.score,
               s.rank_low, s.rank_high, s.score_low, s.score_high, s.grade, s.grade_reason,
               s.peer_rank, s.veto, s.coverage,
               (SELECT string_agg(DISTINCT f.flag, ', ' ORDER BY f.flag) FROM run_flags f
                WHERE f.run_id = s.run_id AND f.unit_id = s.unit_id) AS flags
        FROM run_scores s
        WHERE s.run_id = ?
          AND (? IS NULL OR list_contains(?, s.unit_type))
          AND (? IS NULL OR list_contains(?, s.peer_group))
          AND (? IS NULL OR contains(lower(coalesce(s.unit_name, '') || ' ' || s.unit_id),
                                          lower(?)))
        ORDER BY s.rank NULLS LAST, s.score DESC, s.unit_id
        """,
        [
            run_id,
            unit_types or None,
            unit_types or None,
            peer_groups or None,
            peer_groups or None,
            search or None,
            search or None,
        ],
    )
    return _with_grade(df, scheme_labels(con, run_id), lang)


def grade_distribution(con: Con, run_id: str, lang: str = "zh") -> pl.DataFrame:
    """Units per grade, in the scheme's grade order (best first), zero counts included."""
    labels = scheme_labels(con, run_id)
    counts = _df(
        con,
        "SELECT grade, count(*) AS units FROM run_scores WHERE run_id = ? GROUP BY grade",
        [run_id],
    )
    grades = labels.grades.select(
        pl.col("code").alias("grade"),
        pl.col(_lang_col("name", lang)).alias("grade_name"),
        "grade_order",
    )
    out = grades.join(counts, on="grade", how="full", coalesce=True).with_columns(
        pl.col("units").fill_null(0),
        pl.col("grade_name").fill_null(pl.col("grade")),
        pl.col("grade_order").fill_null(99),
    )
    return out.sort("grade_order")


def movers(
    con: Con, run_id: str, previous: str | None = None, lang: str = "zh", top: int = 5
) -> pl.DataFrame:
    """Largest rises and falls against the previous period's run, with the indicators behind them.

    `drivers` lists the (at most two) indicators whose contribution moved most in the direction
    of the unit's change. Empty when there is no earlier run.
    """
    previous = previous or previous_run_id(con, run_id)
    if previous is None:
        return pl.DataFrame()
    change = _df(
        con,
        """
        SELECT c.unit_id, c.unit_name, c.score, p.score AS prev_score, c.score - p.score AS change,
               c.rank, p.rank AS prev_rank, p.rank - c.rank AS rank_change
        FROM run_scores c JOIN run_scores p ON p.unit_id = c.unit_id AND p.run_id = ?
        WHERE c.run_id = ? AND c.score IS NOT NULL AND p.score IS NOT NULL
        """,
        [previous, run_id],
    )
    if change.is_empty():
        return change
    ranked = pl.concat(
        [
            change.sort("change", descending=True)
            .head(top)
            .with_columns(pl.lit("up").alias("direction")),
            change.sort("change").head(top).with_columns(pl.lit("down").alias("direction")),
        ]
    ).filter(
        ((pl.col("direction") == "up") & (pl.col("change") > 0))
        | ((pl.col("direction") == "down") & (pl.col("change") < 0))
    )
    deltas = _df(
        con,
        """
        SELECT coalesce(c.unit_id, p.unit_id) AS unit_id,
               coalesce(c.indicator_id, p.indicator_id) AS indicator_id,
               coalesce(c.contribution, 0) - coalesce(p.contribution, 0) AS delta
        FROM (SELECT * FROM run_indicator_scores WHERE run_id = ?) c
        FULL JOIN (SELECT * FROM run_indicator_scores WHERE run_id = ?) p
          ON p.unit_id = c.unit_id AND p.indicator_id = c.indicator_id
        """,
        [run_id, previous],
    )
    deltas = _with_names(deltas, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)
    drivers = (
        ranked.select("unit_id", "change")
        .join(deltas, on="unit_id")
        .filter(pl.col("delta") * pl.col("change").sign() > 0)
        .sort(pl.col("delta").abs(), descending=True)
        .group_by("unit_id", maintain_order=True)
        .head(2)
        .group_by("unit_id", maintain_order=True)
        .agg(
            pl.format(
                "{} ({}{})",
                pl.col("indicator_name"),
                pl.when(pl.col("delta") > 0).then(pl.lit("+")).otherwise(pl.lit("")),
                pl.col("delta").round(1),
            )
            .str.join("; ")
            .alias("drivers")
        )
    )
    return ranked.join(drivers, on="unit_id", how="left").with_columns(
        pl.col("drivers").fill_null("")
    )


# --------------------------------------------------------------------------- compare


def unit_choices(con: Con, run_id: str) -> pl.DataFrame:
    return _df(
        con,
        "SELECT unit_id, unit_name, peer_group, rank FROM run_scores WHERE run_id = ? "
        "ORDER BY rank NULLS LAST, unit_id",
        [run_id],
    )


def dimension_scores(con: Con, run_id: str, unit_ids: list[str], lang: str = "zh") -> pl.DataFrame:
    """Top-level dimension scores (0–100) of the chosen units, in scheme order."""
    df = _df(
        con,
        """
        SELECT d.unit_id, s.unit_name, d.dimension_id, d.score, d.weight, d.contribution
        FROM run_dimension_scores d
        JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        WHERE d.run_id = ? AND d.parent_id IS NULL AND list_contains(?, d.unit_id)
        """,
        [run_id, unit_ids],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "dimension_id", "dimension_name", lang)
    return _in_scheme_order(df, labels, "dimension_id", "unit_id", keep=True)


def indicator_comparison(
    con: Con, run_id: str, unit_ids: list[str], lang: str = "zh"
) -> pl.DataFrame:
    """Indicator scores of the chosen units beside the median score of each unit's peer group."""
    df = _df(
        con,
        """
        WITH peer AS (
            SELECT i.indicator_id, s.peer_group, median(i.score) AS peer_median
            FROM run_indicator_scores i
            JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
            WHERE i.run_id = ? GROUP BY ALL)
        SELECT i.unit_id, s.unit_name, s.peer_group, i.indicator_id, i.dimension_id, i.evidence,
               i.raw_value, i.score, p.peer_median, i.weight
        FROM run_indicator_scores i
        JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
        LEFT JOIN peer p ON p.indicator_id = i.indicator_id
             AND p.peer_group IS NOT DISTINCT FROM s.peer_group
        WHERE i.run_id = ? AND list_contains(?, i.unit_id)
        """,
        [run_id, run_id, unit_ids],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    return _in_scheme_order(df, labels, "indicator_id", "unit_id", keep=True)


def compare_summary(con: Con, run_id: str, unit_ids: list[str], lang: str = "zh") -> pl.DataFrame:
    """Per chosen unit, each top-level dimension's gap to the mean of the chosen units.

    The dashboard turns the largest positive and negative gaps into a plain-language sentence.
    """
    dims = dimension_scores(con, run_id, unit_ids, lang)
    if dims.is_empty():
        return dims
    return dims.with_columns(
        (pl.col("score") - pl.col("score").mean().over("dimension_id")).alias("gap"),
        (pl.col("score") == pl.col("score").max().over("dimension_id")).alias("is_best"),
    ).sort("unit_id", "gap", descending=[False, True])


# --------------------------------------------------------------------------- unit profile


def unit_summary(con: Con, run_id: str, unit_id: str, lang: str = "zh") -> dict[str, Any] | None:
    df = _df(
        con,
        "SELECT *, (SELECT count(*) FROM run_scores x WHERE x.run_id = s.run_id) AS units_scored "
        "FROM run_scores s WHERE run_id = ? AND unit_id = ?",
        [run_id, unit_id],
    )
    if df.is_empty():
        return None
    return _with_grade(df, scheme_labels(con, run_id), lang).to_dicts()[0]


def unit_indicators(con: Con, run_id: str, unit_id: str, lang: str = "zh") -> pl.DataFrame:
    """The unit's score explained down to the raw data: one row per indicator."""
    df = _df(
        con,
        """
        SELECT dimension_id, indicator_id, evidence, raw_value, transformed_value, rule, score,
               declared_weight, weight, contribution, imputed, missing_policy, flags
        FROM run_indicator_scores WHERE run_id = ? AND unit_id = ?
        """,
        [run_id, unit_id],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    df = _with_names(df, labels, "dimension_id", "dimension_name", lang)
    return _in_scheme_order(df, labels, "indicator_id")


def unit_trend(con: Con, run_id: str, unit_id: str) -> pl.DataFrame:
    """The unit's score, rank and grade in the latest run of each period of the same scheme."""
    return _df(
        con,
        """
        WITH latest AS (
            SELECT r.run_id, r.period,
                   row_number() OVER (PARTITION BY r.period ORDER BY r.created_at DESC) AS rn
            FROM runs r JOIN runs c ON c.run_id = ? AND r.scheme_id = c.scheme_id)
        SELECT l.period, l.run_id, s.score, s.rank, s.grade,
               (SELECT count(*) FROM run_scores x WHERE x.run_id = l.run_id) AS units_scored
        FROM latest l JOIN run_scores s ON s.run_id = l.run_id AND s.unit_id = ?
        WHERE l.rn = 1 ORDER BY l.period
        """,
        [run_id, unit_id],
    )


def unit_satisfaction(con: Con, run_id: str, unit_id: str, lang: str = "zh") -> pl.DataFrame:
    df = _df(
        con,
        """
        SELECT indicator_id, responses, valid, effective_n, raw_index, index_value, se,
               ci_low, ci_high, top_box_share, small_sample, shrinkage,
               excluded_speeder, excluded_straightline, excluded_duplicate, excluded_out_of_scale
        FROM run_survey_quality WHERE run_id = ? AND unit_id = ? ORDER BY indicator_id
        """,
        [run_id, unit_id],
    )
    return _with_names(df, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)


def survey_exclusions(con: Con, run_id: str, unit_id: str | None = None) -> pl.DataFrame:
    """Survey responses excluded, by reason (summed over satisfaction indicators and units).

    Responses are counted once per unit: the maximum over the unit's indicators, since every
    indicator of a unit filters the same respondents.
    """
    return _df(
        con,
        """
        WITH per_unit AS (
            SELECT unit_id,
                   max(excluded_speeder) AS speeder, max(excluded_straightline) AS straightline,
                   max(excluded_duplicate) AS duplicate, max(excluded_out_of_scale) AS out_of_scale
            FROM run_survey_quality WHERE run_id = ? AND (? IS NULL OR unit_id = ?)
            GROUP BY unit_id)
        SELECT reason, coalesce(sum(n), 0)::BIGINT AS responses
        FROM (UNPIVOT per_unit ON speeder, straightline, duplicate, out_of_scale
              INTO NAME reason VALUE n)
        GROUP BY reason
        ORDER BY list_position(['speeder', 'straightline', 'duplicate', 'out_of_scale'], reason)
        """,
        [run_id, unit_id, unit_id],
    )


def unit_flags(con: Con, run_id: str, unit_id: str, lang: str = "zh") -> pl.DataFrame:
    """The unit's flags, with their evidence text in `lang`."""
    return _df(
        con,
        f"""
        SELECT flag, {flag_evidence_sql(con, lang)} AS evidence
        FROM run_flags WHERE run_id = ? AND unit_id = ? ORDER BY flag
        """,
        [run_id, unit_id],
    )


# --------------------------------------------------------------------------- scheme health


def lint_rule_names(lang: str = "zh") -> pl.DataFrame:
    """Every lint rule's short name in `lang` (the rule classes' own `title`), by rule id."""
    rules = builtin_rules()
    return pl.DataFrame(
        {
            "rule": [r.id for r in rules],
            "rule_name": [r.title(lang) for r in rules],
        },
        schema={"rule": pl.String, "rule_name": pl.String},
    )


def lint_findings(con: Con, run_id: str, lang: str = "zh") -> pl.DataFrame:
    """The run's stored lint findings, message and names in `lang` (zh from run_lint.message_zh)."""
    df = _df(
        con,
        """
        SELECT severity, rule, indicator, message, message_zh
        FROM run_lint WHERE run_id = ?
        ORDER BY list_position(['error', 'warning', 'info'], severity) NULLS LAST, rule, indicator
        """,
        [run_id],
    )
    if lang == "zh":
        df = df.with_columns(pl.coalesce("message_zh", "message").alias("message"))
    df = df.select("severity", "rule", "indicator", "message")
    df = df.join(lint_rule_names(lang), on="rule", how="left", maintain_order="left").with_columns(
        pl.col("rule_name").fill_null(pl.col("rule"))
    )
    labels = scheme_labels(con, run_id)
    names = labels.nodes.select(
        pl.col("node_id").alias("indicator"), pl.col(_lang_col("name", lang)).alias("indicator_name")
    ).unique("indicator")
    return df.join(names, on="indicator", how="left", maintain_order="left").with_columns(
        pl.col("indicator_name").fill_null(pl.col("indicator"))
    )


def weights(con: Con, run_id: str, lang: str = "zh") -> pl.DataFrame:
    """Declared vs effective global weight of every indicator, in scheme order."""
    df = _df(
        con,
        """
        SELECT node_id AS indicator_id, parent_id AS dimension_id, evidence,
               declared_weight, effective_weight, effective_weight - declared_weight AS change
        FROM run_weights WHERE run_id = ? AND node_kind = 'indicator'
        """,
        [run_id],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    return _in_scheme_order(df, labels, "indicator_id")


@dataclass(frozen=True)
class SchemeHealth:
    indicator_count: int
    trace_share_declared: float
    trace_share_effective: float
    evidence_shares: pl.DataFrame  # evidence, declared, effective
    burden_hours_per_unit_year: float | None
    reports_per_unit_year: int | None
    top_burdens: pl.DataFrame  # indicator, indicator_name, hours
    duplicate_requests: pl.DataFrame  # source, indicator_ids, indicator_names
    lint_errors: int
    lint_warnings: int


def scheme_health(con: Con, run_id: str, lang: str = "zh") -> SchemeHealth:
    """Size, trace share, reporting burden and duplicated data requests of the run's scheme.

    Indicators are named in `lang` (`indicator_name`, `indicator_names`) beside their ids.
    """
    shares = _df(
        con,
        """
        SELECT evidence, sum(declared_weight) AS declared, sum(effective_weight) AS effective
        FROM run_weights WHERE run_id = ? AND node_kind = 'indicator' GROUP BY evidence
        ORDER BY list_position(['outcome','satisfaction','output','process','trace'], evidence)
        """,
        [run_id],
    )
    tot_d = float(shares["declared"].sum() or 0) if shares.height else 0.0
    tot_e = float(shares["effective"].sum() or 0) if shares.height else 0.0
    trace = shares.filter(pl.col("evidence") == "trace")
    td = float(trace["declared"].sum()) if trace.height else 0.0
    te = float(trace["effective"].sum()) if trace.height else 0.0
    sev = _df(
        con,
        "SELECT severity, count(*) AS n FROM run_lint WHERE run_id = ? GROUP BY severity",
        [run_id],
    )
    by_sev = dict(zip(sev["severity"].to_list(), sev["n"].to_list(), strict=True))
    loaded = _loaded_scheme(con, run_id)
    burden: float | None = None
    reports: int | None = None
    top: list[dict[str, Any]] = []
    dups = pl.DataFrame(
        schema={"source": pl.String, "indicator_ids": pl.String, "indicator_names": pl.String}
    )
    if loaded is not None:
        summary = lint_scheme(loaded).summary  # the linter's own figures, so both always agree
        burden = float(summary["burden_hours_per_unit_year"])
        reports = int(summary["reports_per_unit_year"])
        top = list(summary.get("top_burdens", []))
        inds = loaded.scheme.indicators()
        survey = "问卷：" if lang == "zh" else "survey: "
        sep = "、" if lang == "zh" else ", "
        src = pl.DataFrame(
            {
                "source": [
                    getattr(i.source, "measure", None)
                    or survey + sep.join(sorted(getattr(i.source, "questions", [])))
                    for i in inds
                ],
                "indicator_id": [i.id for i in inds],
                "indicator_name": [i.name.zh if lang == "zh" else i.name.en for i in inds],
            },
            schema={"source": pl.String, "indicator_id": pl.String, "indicator_name": pl.String},
        )
        dups = (
            src.group_by("source", maintain_order=True)
            .agg(
                pl.col("indicator_id").str.join(", ").alias("indicator_ids"),
                pl.col("indicator_name").str.join(sep).alias("indicator_names"),
                pl.len().alias("n"),
            )
            .filter(pl.col("n") > 1)
            .drop("n")
        )
    top_df = pl.DataFrame(top, schema={"indicator": pl.String, "hours": pl.Float64})
    top_df = _with_names(
        top_df.rename({"indicator": "indicator_id"}),
        scheme_labels(con, run_id),
        "indicator_id",
        "indicator_name",
        lang,
    ).rename({"indicator_id": "indicator"})
    return SchemeHealth(
        indicator_count=_count_indicators(con, run_id),
        trace_share_declared=td / tot_d if tot_d else 0.0,
        trace_share_effective=te / tot_e if tot_e else 0.0,
        evidence_shares=shares,
        burden_hours_per_unit_year=burden,
        reports_per_unit_year=reports,
        top_burdens=top_df.select("indicator", "indicator_name", "hours"),
        duplicate_requests=dups,
        lint_errors=int(by_sev.get("error", 0)),
        lint_warnings=int(by_sev.get("warning", 0)),
    )


def _count_indicators(con: Con, run_id: str) -> int:
    row = _one(
        con,
        "SELECT count(*) FROM run_weights WHERE run_id = ? AND node_kind = 'indicator'",
        [run_id],
    )
    return int(row[0]) if row else 0


def declared_vs_effective_ranking(con: Con, run_id: str) -> pl.DataFrame:
    """Rank after the trace policy beside the rank the declared weights would have given."""
    return _df(
        con,
        """
        SELECT unit_id, unit_name, score, rank, score_declared, rank_declared,
               rank_declared - rank AS rank_gain
        FROM run_scores WHERE run_id = ? AND rank_declared IS NOT NULL
        ORDER BY rank NULLS LAST, unit_id
        """,
        [run_id],
    )


# --------------------------------------------------------------------------- data quality


def batches(con: Con) -> pl.DataFrame:
    return _df(
        con,
        """
        SELECT batch_id, kind, file_name, status, row_count, reason, loaded_by, loaded_at, forced
        FROM load_batches ORDER BY batch_id DESC
        """,
    )


def data_coverage(con: Con) -> pl.DataFrame:
    """Before any run: per period and measure (or survey question), how many loaded units have a
    value and how many do not. Units are the current units; a run's scheme narrows this later."""
    return _df(
        con,
        """
        WITH u AS (SELECT count(*) AS n FROM current_units),
        got AS (
            SELECT period, 'outcome' AS source, measure AS item, count(DISTINCT unit_id) AS units
            FROM current_outcomes GROUP BY ALL
            UNION ALL
            SELECT period, 'survey', question, count(DISTINCT unit_id)
            FROM current_survey_responses GROUP BY ALL)
        SELECT period, source, item, units AS units_with_data,
               greatest((SELECT n FROM u) - units, 0) AS units_without
        FROM got ORDER BY period DESC, units_without DESC, source, item
        """,
    )


def missing_pairs(con: Con, run_id: str, lang: str = "zh") -> pl.DataFrame:
    """Unit × indicator pairs of the run without a raw value (imputed or left out)."""
    df = _df(
        con,
        """
        WITH pairs AS (
            SELECT s.unit_id, s.unit_name, w.node_id AS indicator_id
            FROM run_scores s
            JOIN run_weights w ON w.run_id = s.run_id AND w.node_kind = 'indicator'
            WHERE s.run_id = ?)
        SELECT p.unit_id, p.unit_name, p.indicator_id,
               CASE WHEN i.unit_id IS NULL THEN 'absent'
                    WHEN coalesce(i.imputed, false) THEN 'imputed'
                    ELSE 'no_value' END AS status,
               i.missing_policy
        FROM pairs p LEFT JOIN run_indicator_scores i
          ON i.run_id = ? AND i.unit_id = p.unit_id AND i.indicator_id = p.indicator_id
        WHERE i.unit_id IS NULL OR i.raw_value IS NULL OR coalesce(i.imputed, false)
        ORDER BY p.indicator_id, p.unit_id
        """,
        [run_id, run_id],
    )
    return _with_names(df, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)


def satisfaction_indicators(con: Con, run_id: str, lang: str = "zh") -> pl.DataFrame:
    df = _df(
        con,
        "SELECT DISTINCT indicator_id FROM run_survey_quality WHERE run_id = ? ORDER BY 1",
        [run_id],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    return _in_scheme_order(df, labels, "indicator_id")


@dataclass(frozen=True)
class Funnel:
    """Satisfaction index against effective sample size, with control limits around the centre."""

    points: pl.DataFrame  # unit_id, unit_name, effective_n, raw_index, outside_95, outside_998
    limits: pl.DataFrame  # n, lo95, hi95, lo998, hi998
    centre: float
    sd: float


def funnel(con: Con, run_id: str, indicator_id: str, steps: int = 60) -> Funnel | None:
    """Funnel plot data: limits centre ± z·sd/√n with z = 1.96 (95%) and 3.09 (99.8%).

    The centre is the n-weighted mean of the units' unshrunk indices; sd is the median per-unit
    respondent-level spread recovered from the stored standard errors (se·√n).
    """
    points = _df(
        con,
        """
        SELECT q.unit_id, s.unit_name, q.effective_n, q.raw_index, q.se
        FROM run_survey_quality q JOIN run_scores s ON s.run_id = q.run_id AND s.unit_id = q.unit_id
        WHERE q.run_id = ? AND q.indicator_id = ? AND q.effective_n > 0 AND q.raw_index IS NOT NULL
        """,
        [run_id, indicator_id],
    )
    if points.is_empty():
        return None
    stats = points.select(
        ((pl.col("raw_index") * pl.col("effective_n")).sum() / pl.col("effective_n").sum()).alias(
            "c"
        ),
        (pl.col("se") * pl.col("effective_n").sqrt()).median().alias("sd"),
    ).row(0)
    centre, sd = float(stats[0]), float(stats[1] or 0.0)
    n_max = float(points["effective_n"].max())  # type: ignore[arg-type]
    n_min = max(1.0, float(points["effective_n"].min()) * 0.8)  # type: ignore[arg-type]
    grid = pl.DataFrame({"n": pl.linear_space(n_min, n_max * 1.05, steps, eager=True)})
    half = pl.lit(sd) / pl.col("n").sqrt()
    limits = grid.with_columns(
        (centre - 1.96 * half).alias("lo95"),
        (centre + 1.96 * half).alias("hi95"),
        (centre - 3.09 * half).alias("lo998"),
        (centre + 3.09 * half).alias("hi998"),
    )
    pt_half = pl.lit(sd) / pl.col("effective_n").sqrt()
    points = points.with_columns(
        ((pl.col("raw_index") - centre).abs() > 1.96 * pt_half).alias("outside_95"),
        ((pl.col("raw_index") - centre).abs() > 3.09 * pt_half).alias("outside_998"),
    )
    return Funnel(points=points, limits=limits, centre=centre, sd=sd)


# --------------------------------------------------------------------------- sensitivity


def rank_ranges(con: Con, run_id: str) -> pl.DataFrame:
    """Units with a computed rank interval (empty when the run computed no uncertainty)."""
    return _df(
        con,
        """
        SELECT unit_id, unit_name, peer_group, score, score_low, score_high,
               rank, rank_low, rank_high,
               rank_high - rank_low AS rank_spread
        FROM run_scores WHERE run_id = ? AND rank_low IS NOT NULL AND rank_high IS NOT NULL
        ORDER BY rank NULLS LAST, unit_id
        """,
        [run_id],
    )
