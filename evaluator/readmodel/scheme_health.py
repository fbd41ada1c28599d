"""The scheme health page: lint findings, weights, duplicates, overlaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from evaluator.forms.report import overlap_report
from evaluator.labels import Group, label
from evaluator.lint import LintContext, builtin_rules
from evaluator.lint.report import summarise
from evaluator.lint.requests import repeated_requests
from evaluator.readmodel._base import Con, _df, _one
from evaluator.readmodel.labels import _in_scheme_order, _loaded_scheme, _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_office, require_run
from evaluator.runs import stored_scheme
from evaluator.scheme.loader import SchemeInvalid
from evaluator.scheme.measures import LoadedRegistry, find_registry, load_registry
from evaluator.scheme.models import Scheme
from evaluator.scoring.warnings import display_names, read_warnings, summary_lines

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


def lint_findings(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The run's stored lint findings, message and names in `lang` (zh from run_lint.message_zh)."""
    require_run(con, viewer, run_id)
    require_office(viewer)
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
    return _with_names(df, scheme_labels(con, run_id), "indicator", "indicator_name", lang)


@dataclass(frozen=True)
class RunWarnings:
    """The run's stored warnings (`evaluator.scoring.warnings`) as sentences in one language."""

    count: int
    summary: list[str]  # at most five a kind, then "… and N more"
    all: pl.DataFrame  # warning, warning_name, node_id, unit_id, message


def run_warnings(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> RunWarnings:
    """Constant indicators, clamped z-scores, reweighting, low coverage: what the run's numbers
    do not say by themselves."""
    require_run(con, viewer, run_id)
    require_office(viewer)
    found = read_warnings(con, run_id)
    names = display_names(con, run_id, lang)
    table = pl.DataFrame(
        [
            {"warning": w.warning, "warning_name": label(Group.run_warning, w.warning, lang),
             "node_id": w.node_id, "unit_id": w.unit_id, "message": w.text(lang, names)}
            for w in found
        ],
        schema={c: pl.String for c in ("warning", "warning_name", "node_id", "unit_id", "message")},
    )
    return RunWarnings(len(found), summary_lines(found, lang, names=names), table)


def weights(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Declared vs effective global weight of every indicator, in scheme order."""
    require_run(con, viewer, run_id)
    require_office(viewer)
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


def scheme_health(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> SchemeHealth:
    """Size, trace share, reporting burden and duplicated data requests of the run's scheme.

    Indicators are named in `lang` (`indicator_name`, `indicator_names`) beside their ids.
    """
    require_run(con, viewer, run_id)
    require_office(viewer)
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
    dups = duplicate_table([], lang)
    if loaded is not None:
        # the linter's own figures (so both always agree), without running its rules again: the
        # run's findings are the stored run_lint rows
        summary = summarise(LintContext(loaded))
        burden = float(summary["burden_hours_per_unit_year"])
        reports = int(summary["reports_per_unit_year"])
        top = list(summary.get("top_burdens", []))
        dups = duplicate_table([loaded.scheme], lang)
    top_df = pl.DataFrame(top, schema={"indicator": pl.String, "hours": pl.Float64})
    top_df = _with_names(top_df, scheme_labels(con, run_id), "indicator", "indicator_name", lang)
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


def duplicate_table(schemes: list[Scheme], lang: str = "zh") -> pl.DataFrame:
    """The linter's repeated requests as rows: source (the measure, or the survey question),
    indicator_ids and indicator_names (scheme-qualified when several schemes are given)."""
    zh = lang == "zh"
    sep = "、" if zh else ", "
    many = len(schemes) > 1
    rows = [
        {
            "source": rep.item
            if rep.kind == "measure"
            else ("问卷题目：" if zh else "survey question: ") + rep.item,
            "indicator_ids": ", ".join(
                f"{r.scheme_id}/{r.indicator_id}" if many else r.indicator_id for r in rep.requests
            ),
            "indicator_names": sep.join(
                r.indicator.name.zh if zh else r.indicator.name.en for r in rep.requests
            ),
        }
        for rep in repeated_requests(schemes)
    ]
    return pl.DataFrame(
        rows, schema={"source": pl.String, "indicator_ids": pl.String, "indicator_names": pl.String}
    )


@dataclass(frozen=True)
class SchemeOverlap:
    """One form for all (一表报送): the schemes scored for the run's period, what they ask twice,
    and the reporting burden before (each its own) and after (one form). Figures come from
    `evaluator.forms.report`, the same code as `evaluator forms --report`."""

    schemes: pl.DataFrame  # scheme_id, scheme_name, run_id (the run's own scheme first)
    registry: str | None  # the measure registry used, if any
    burden: pl.DataFrame  # unit_type, units, before_/after_ forms, fields, hours
    measures: pl.DataFrame  # measure, measure_name, origin, schemes, reports/hours before/after
    repeated: pl.DataFrame  # source, indicator_ids, indicator_names (duplicate_table)
    excess: pl.DataFrame  # scheme_id, indicator_id, item, frequency, reports, excess


def scheme_overlap(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> SchemeOverlap:
    """Overlap and burden across the latest run of every scheme scored for this run's period.

    The registry is `measures.yaml` beside the scheme file the run was scored from (recorded in
    the run's parameters), when that file is still there."""
    require_run(con, viewer, run_id)
    require_office(viewer)
    rows = con.execute(
        """
        SELECT r.run_id, r.scheme_id, r.scheme_yaml FROM runs r
        JOIN (SELECT period FROM runs WHERE run_id = ?) p USING (period)
        QUALIFY row_number() OVER (PARTITION BY r.scheme_id
                                   ORDER BY r.run_id = ? DESC, r.created_at DESC, r.run_id DESC) = 1
        ORDER BY r.run_id = ? DESC, r.scheme_id
        """,
        [run_id, run_id, run_id],
    ).fetchall()
    loaded = [(rid, ld) for rid, _, text in rows if (ld := stored_scheme(text, rid)) is not None]
    schemes = [ld.scheme for _, ld in loaded]
    registry = _run_registry(con, run_id)
    units = dict(
        con.execute(
            "SELECT unit_type, count(*) FROM run_scores WHERE run_id = ? GROUP BY unit_type", [run_id]
        ).fetchall()
    )
    rep = overlap_report(schemes, registry, units)
    zh = lang == "zh"
    burden = pl.DataFrame(
        [
            {
                "unit_type": b.unit_type,
                "units": b.units,
                "before_forms": b.before_forms,
                "before_fields": b.before_fields,
                "before_hours": b.before_hours,
                "after_forms": b.after_forms,
                "after_fields": b.after_fields,
                "after_hours": b.after_hours,
            }
            for b in rep.burden
        ],
        schema={
            "unit_type": pl.String,
            "units": pl.Int64,
            "before_forms": pl.Int64,
            "before_fields": pl.Int64,
            "before_hours": pl.Float64,
            "after_forms": pl.Int64,
            "after_fields": pl.Int64,
            "after_hours": pl.Float64,
        },
    )
    measures = pl.DataFrame(
        [
            {
                "measure": m.measure,
                "measure_name": m.name_zh if zh else m.name_en,
                "origin": m.origin,
                "schemes": ", ".join(m.schemes),
                "requests": m.requests,
                "reports_before": m.reports_before,
                "reports_after": m.reports_after,
                "hours_before": m.hours_before,
                "hours_after": m.hours_after,
            }
            for m in rep.measures
        ],
        schema={
            "measure": pl.String,
            "measure_name": pl.String,
            "origin": pl.String,
            "schemes": pl.String,
            "requests": pl.Int64,
            "reports_before": pl.Int64,
            "reports_after": pl.Int64,
            "hours_before": pl.Float64,
            "hours_after": pl.Float64,
        },
    )
    excess = pl.DataFrame(
        [
            {
                "scheme_id": e.scheme_id,
                "indicator_id": e.indicator_id,
                "item": e.item,
                "frequency": e.frequency,
                "reports": e.reports,
                "excess": e.excess,
            }
            for e in rep.excess
        ],
        schema={
            "scheme_id": pl.String,
            "indicator_id": pl.String,
            "item": pl.String,
            "frequency": pl.String,
            "reports": pl.Int64,
            "excess": pl.Int64,
        },
    )
    names = pl.DataFrame(
        [
            {
                "scheme_id": ld.scheme.id,
                "scheme_name": ld.scheme.name.zh if zh else ld.scheme.name.en,
                "run_id": rid,
            }
            for rid, ld in loaded
        ],
        schema={"scheme_id": pl.String, "scheme_name": pl.String, "run_id": pl.String},
    )
    return SchemeOverlap(
        names,
        str(registry.path) if registry else None,
        burden,
        measures,
        duplicate_table(schemes, lang),
        excess,
    )


def _run_registry(con: Con, run_id: str) -> LoadedRegistry | None:
    row = _one(
        con, "SELECT json_extract_string(parameters, '$.scheme_file') FROM runs WHERE run_id = ?", [run_id]
    )
    found = find_registry(row[0]) if row and row[0] else None
    if found is None or not found.is_file():
        return None
    try:
        return load_registry(found)
    except SchemeInvalid:  # a broken registry costs the section its origins, never the page
        return None


def _count_indicators(con: Con, run_id: str) -> int:
    row = _one(
        con,
        "SELECT count(*) FROM run_weights WHERE run_id = ? AND node_kind = 'indicator'",
        [run_id],
    )
    return int(row[0]) if row else 0


def declared_vs_effective_ranking(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Rank after the trace policy beside the rank the declared weights would have given."""
    require_run(con, viewer, run_id)
    require_office(viewer)
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
