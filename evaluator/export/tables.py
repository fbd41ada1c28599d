"""The exported tables: one SQL query each, read as polars frames, shared by every format.

Every writer (XLSX, CSV, Parquet, cards, summary) reads through `frame` or `batches`, so a number
in any file comes from exactly one query over the stored run. Scheme labels (names, rules,
grade names) come from the run's own scheme text, registered as small lookup relations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from evaluator.appeals import FRAME_SCHEMA as APPEAL_SCHEMA
from evaluator.export.runinfo import RunInfo, burden_hours
from evaluator.labels import Group
from evaluator.labels import rows as label_rows
from evaluator.runs import flag_evidence_sql
from evaluator.scheme.models import Scheme

LANGS = ("en", "zh")


@dataclass
class ExportContext:
    """Everything a table query needs: the connection, the run, its scheme and the language."""

    con: duckdb.DuckDBPyConnection
    run: RunInfo
    scheme: Scheme | None
    lang: str = "en"
    appeals: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {self.lang!r}")
        register_lookups(self)


# --------------------------------------------------------------------------- lookups


def register_lookups(ctx: ExportContext) -> None:
    """Scheme names, rules and grade labels as relations the queries join (one row per node)."""
    s = ctx.scheme
    ind_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    grade_rows: list[dict[str, Any]] = []
    if s is not None:
        pos = 0
        for dim in s.all_dimensions():
            node_rows.append(
                {"node_id": dim.id, "name_zh": dim.name.zh, "name_en": dim.name.en, "position": pos}
            )
            pos += 1
            for ind in dim.indicators:
                node_rows.append(
                    {
                        "node_id": ind.id,
                        "name_zh": ind.name.zh,
                        "name_en": ind.name.en,
                        "position": pos,
                    }
                )
                pos += 1
                src = ind.source
                ind_rows.append(
                    {
                        "indicator_id": ind.id,
                        "direction": ind.direction.value,
                        "source": getattr(src, "measure", None) or ",".join(getattr(src, "questions", [])),
                        "frequency": ind.frequency.value,
                        "burden_minutes": ind.burden_minutes,
                        "trace_only": ind.evidence.value == "trace" and not ind.linked_outcomes,
                        "linked_outcomes": ",".join(ind.linked_outcomes) or None,
                    }
                )
        for i, g in enumerate(s.grades):
            grade_rows.append({"code": g.code, "name_zh": g.name.zh, "name_en": g.name.en, "position": i})
    frames = {
        "_x_nodes": pl.DataFrame(
            node_rows,
            schema={
                "node_id": pl.String,
                "name_zh": pl.String,
                "name_en": pl.String,
                "position": pl.Int64,
            },
        ),
        "_x_indicators": pl.DataFrame(
            ind_rows,
            schema={
                "indicator_id": pl.String,
                "direction": pl.String,
                "source": pl.String,
                "frequency": pl.String,
                "burden_minutes": pl.Float64,
                "trace_only": pl.Boolean,
                "linked_outcomes": pl.String,
            },
        ),
        "_x_grades": pl.DataFrame(
            grade_rows,
            schema={
                "code": pl.String,
                "name_zh": pl.String,
                "name_en": pl.String,
                "position": pl.Int64,
            },
        ),
        "_x_labels": pl.DataFrame(
            label_rows(), schema=["grp", "code", "name_zh", "name_en"], orient="row"
        ),
        "_x_appeals": ctx.appeals if ctx.appeals is not None else pl.DataFrame(schema=APPEAL_SCHEMA),
        "_x_methodology": methodology_frame(ctx),
    }
    for name, frame in frames.items():
        ctx.con.register(name, frame.to_arrow())


def named(group: Group, column: str, lang: str) -> str:
    """SQL for the catalogue name of the code in `column` (the code itself when unnamed)."""
    return (f"coalesce((SELECT x.name_{'zh' if lang == 'zh' else 'en'} FROM _x_labels x "
            f"WHERE x.grp = '{group.value}' AND x.code = {column}), {column})")


def refresh_methodology(ctx: ExportContext) -> None:
    """Re-register the methodology rows after notes were added (e.g. a split breakdown)."""
    ctx.con.register("_x_methodology", methodology_frame(ctx).to_arrow())


def methodology_frame(ctx: ExportContext) -> pl.DataFrame:
    """How the run was made, as (section, key, value) rows: run, scheme, data, appeals, notes."""
    r, zh = ctx.run, ctx.lang == "zh"
    rows: list[tuple[str, str, str]] = [
        ("run", "run_id", r.run_id),
        ("run", "period", r.period),
        ("run", "created_at", str(r.created_at)),
        ("run", "code_version", r.code_version or ""),
        ("run", "published", str(r.published).lower()),
        ("run", "note", r.note or ""),
        ("scheme", "scheme_id", r.scheme_id),
        ("scheme", "scheme_version", r.scheme_version or ""),
        ("scheme", "scheme_name", r.scheme_name(ctx.lang)),
        ("scheme", "scheme_hash_sha256", r.scheme_hash),
        ("scheme", "lint_errors", str(r.lint_errors)),
    ]
    if r.lint_errors:
        rows.append(("scheme", "scheme_warning", lint_warning(ctx)))
        messages = _lint_errors_zh(ctx) if zh else r.lint_messages
        rows += [("scheme", f"lint_error_{i + 1}", m) for i, m in enumerate(messages)]
    if ctx.scheme is not None:
        rows.append(("scheme", "burden_hours_per_unit_year", f"{burden_hours(ctx.scheme):.4g}"))
        tp = ctx.scheme.trace_policy
        rows.append(
            (
                "scheme",
                "trace_policy",
                f"trace_only_factor={tp.trace_only_factor}, max_share={tp.max_share}, "
                f"freed_weight={tp.freed_weight}",
            )
        )
    rows.append(("data", "batch_ids", ", ".join(str(b) for b in r.batch_ids)))
    rows += [("data", f"batch_{b}", desc) for b, desc in _batch_descriptions(ctx)]
    rows += [("parameters", str(k), str(v)) for k, v in sorted(r.parameters.items())]
    if ctx.appeals is not None and ctx.appeals.height:
        rows += [
            ("appeals", f"appeal_{a['appeal_id']}", appeal_line(a, zh))
            for a in ctx.appeals.sort("appeal_id").iter_rows(named=True)
        ]
    else:
        rows.append(("appeals", "appeals", "无申诉记录" if zh else "no appeals on record"))
    rows += [("notes", f"note_{i + 1}", n) for i, n in enumerate(ctx.notes)]
    rows.append(("export", "generated_at", ctx.generated_at.isoformat()))
    return pl.DataFrame(rows, schema=["section", "key", "value"], orient="row")


def appeal_line(a: dict[str, Any], zh: bool) -> str:
    """One appeal and its outcome in a sentence (methodology sheet, cards)."""
    status = {
        "open": ("待处理", "open"),
        "accepted": ("已采纳", "accepted"),
        "rejected": ("未采纳", "rejected"),
    }.get(a["status"], (a["status"], a["status"]))
    head = (
        f"{a['unit_id']} · {a['item']} · 运行 {a['run_id']} · {status[0]}：{a['reason']}"
        if zh
        else f"{a['unit_id']} · {a['item']} · run {a['run_id']} · {status[1]}: {a['reason']}"
    )
    if a["status"] == "accepted":
        head += (
            f"；更正批次 {a['correction_batch']}，重新计分运行 {a['rescore_run_id']}；{a['resolution']}"
            if zh
            else f"; correction batch {a['correction_batch']}, re-score run "
            f"{a['rescore_run_id']}; {a['resolution']}"
        )
    elif a["status"] == "rejected":
        head += f"；理由：{a['resolution']}" if zh else f"; reason: {a['resolution']}"
    return head


def lint_warning(ctx: ExportContext, limit: int | None = None) -> str:
    """The sentence every sheet and card shows when the run's scheme has lint errors.

    `limit` keeps the first few errors and says how many more the lint sheet lists (the
    one-page leadership summary cannot hold a long list).
    """
    r = ctx.run
    zh = ctx.lang == "zh"
    messages = _lint_errors_zh(ctx) if zh else list(r.lint_messages)
    more = len(messages) - limit if limit is not None and len(messages) > limit else 0
    if more:
        messages = messages[:limit]
        messages.append(f"另有 {more} 项，见方案体检表" if zh else f"{more} more in the lint sheet")
    items = ("；" if zh else "; ").join(messages) or ("见方案体检表" if zh else "see the lint sheet")
    if zh:
        return f"本次结果所依据的考核方案存在形式主义问题（{r.lint_errors} 项严重问题）：{items}"
    return f"Scored under a scheme with formalism problems ({r.lint_errors} error(s)): {items}"


def _message_zh(alias: str) -> str:
    """The Chinese lint message, English where a finding has none."""
    prefix = f"{alias}." if alias else ""
    return f"coalesce({prefix}message_zh, {prefix}message)"


def _lint_errors_zh(ctx: ExportContext) -> list[str]:
    """The run's lint errors in Chinese."""
    rows = ctx.con.execute(
        f"SELECT rule, coalesce(indicator, '方案'), {_message_zh('')} FROM run_lint "
        "WHERE run_id = ? AND severity = 'error' ORDER BY rule, indicator",
        [ctx.run.run_id],
    ).fetchall()
    return [f"{rule}（{where}）：{message}" for rule, where, message in rows]


def _batch_descriptions(ctx: ExportContext) -> list[tuple[int, str]]:
    if not ctx.run.batch_ids:
        return []
    rows = ctx.con.execute(
        "SELECT batch_id, kind, file_name, checksum, row_count, loaded_at FROM load_batches "
        "WHERE list_contains(?, batch_id) ORDER BY batch_id",
        [ctx.run.batch_ids],
    ).fetchall()
    return [(b, f"{k} {f} rows={n} sha256={c[:16]}… loaded {t}") for b, k, f, c, n, t in rows]


# --------------------------------------------------------------------------- queries

Query = Callable[[ExportContext], tuple[str, list[Any]]]


def _summary(ctx: ExportContext) -> tuple[str, list[Any]]:
    warning = lint_warning(ctx) if ctx.run.lint_errors else None
    return (
        f"""
        SELECT s.unit_id, s.unit_name, s.unit_type, s.peer_group, s.score, s.score_low,
               s.score_high, s.rank, s.rank_low, s.rank_high, s.peer_rank, s.grade,
               g.name_{ctx.lang} AS grade_name,
               s.grade_reason, s.base_score, s.bonus, s.deduction, s.veto, s.score_declared,
               s.rank_declared, s.coverage, f.flags, ?::VARCHAR AS scheme_warning
        FROM run_scores s
        LEFT JOIN _x_grades g ON g.code = s.grade
        LEFT JOIN (SELECT unit_id, string_agg(DISTINCT flag, ', ' ORDER BY flag) AS flags
                   FROM run_flags WHERE run_id = ? GROUP BY unit_id) f USING (unit_id)
        WHERE s.run_id = ?
        ORDER BY s.rank NULLS LAST, s.unit_id""",
        [warning, ctx.run.run_id, ctx.run.run_id],
    )


def _breakdown(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""
        SELECT r.unit_id, s.unit_name, r.indicator_id, n.name_{ctx.lang} AS indicator_name,
               r.dimension_id, d.name_{ctx.lang} AS dimension_name, r.evidence,
               {named(Group.evidence, "r.evidence", ctx.lang)} AS evidence_name,
               r.raw_value, r.transformed_value, r.rule,
               {named(Group.rule, "r.rule", ctx.lang)} AS rule_name, r.score,
               r.declared_weight, r.weight, r.local_weight, r.contribution, r.missing_policy,
               {named(Group.missing_policy, "r.missing_policy", ctx.lang)} AS missing_policy_name,
               r.imputed, r.flags
        FROM run_indicator_scores r
        LEFT JOIN run_scores s ON s.run_id = r.run_id AND s.unit_id = r.unit_id
        LEFT JOIN _x_nodes n ON n.node_id = r.indicator_id
        LEFT JOIN _x_nodes d ON d.node_id = r.dimension_id
        WHERE r.run_id = ?
        ORDER BY r.unit_id, n.position NULLS LAST, r.indicator_id""",
        [ctx.run.run_id],
    )


def _dimensions(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""
        SELECT d.unit_id, d.dimension_id, n.name_{ctx.lang} AS dimension_name, d.parent_id, d.depth,
               d.score, d.weight, d.contribution
        FROM run_dimension_scores d LEFT JOIN _x_nodes n ON n.node_id = d.dimension_id
        WHERE d.run_id = ?
        ORDER BY d.unit_id, n.position NULLS LAST, d.dimension_id""",
        [ctx.run.run_id],
    )


def _survey_quality(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        """
        SELECT * EXCLUDE (run_id) FROM run_survey_quality WHERE run_id = ?
        ORDER BY unit_id, indicator_id""",
        [ctx.run.run_id],
    )


def _flags(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""SELECT f.unit_id, s.unit_name, f.flag,
                   {named(Group.flag, "f.flag", ctx.lang)} AS flag_name,
                   {flag_evidence_sql(ctx.con, ctx.lang, "f")} AS evidence
              FROM run_flags f
              LEFT JOIN run_scores s ON s.run_id = f.run_id AND s.unit_id = f.unit_id
              WHERE f.run_id = ? ORDER BY f.unit_id, f.flag""",
        [ctx.run.run_id],
    )


def _scheme(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""
        SELECT w.node_id, w.node_kind, w.parent_id, n.name_{ctx.lang} AS name, w.evidence,
               (SELECT any_value(rule) FROM run_indicator_scores r
                WHERE r.run_id = w.run_id AND r.indicator_id = w.node_id) AS rule,
               i.direction, i.source, i.frequency, i.burden_minutes, i.trace_only,
               i.linked_outcomes,
               w.declared_weight, w.effective_weight
        FROM run_weights w
        LEFT JOIN _x_nodes n ON n.node_id = w.node_id
        LEFT JOIN _x_indicators i ON i.indicator_id = w.node_id
        WHERE w.run_id = ?
        ORDER BY n.position NULLS LAST, w.node_id""",
        [ctx.run.run_id],
    )


def _reference_values(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        """SELECT indicator_id, peer_group, name, value FROM run_reference_values
              WHERE run_id = ? ORDER BY indicator_id, peer_group NULLS FIRST, name""",
        [ctx.run.run_id],
    )


def _lint(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Findings with their codes (rule, severity, indicator) and names beside them."""
    message = _message_zh("l") if ctx.lang == "zh" else "l.message"
    return (
        f"""SELECT l.rule, {named(Group.lint_rule, "l.rule", ctx.lang)} AS rule_name, l.severity,
                  {named(Group.severity, "l.severity", ctx.lang)} AS severity_name, l.indicator,
                  n.name_{ctx.lang} AS indicator_name, {message} AS message
              FROM run_lint l LEFT JOIN _x_nodes n ON n.node_id = l.indicator
              WHERE l.run_id = ?
              ORDER BY CASE l.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                       l.rule, l.indicator""",
        [ctx.run.run_id],
    )


def _appeals(ctx: ExportContext) -> tuple[str, list[Any]]:
    return "SELECT * FROM _x_appeals ORDER BY appeal_id", []


def _methodology(ctx: ExportContext) -> tuple[str, list[Any]]:
    return "SELECT * FROM _x_methodology", []


# name -> query, in the order sheets and files are written (summary first: the CONTRACT sheet)
TABLES: dict[str, Query] = {
    "summary": _summary,
    "breakdown": _breakdown,
    "dimensions": _dimensions,
    "survey_quality": _survey_quality,
    "flags": _flags,
    "scheme": _scheme,
    "reference_values": _reference_values,
    "lint": _lint,
    "appeals": _appeals,
    "methodology": _methodology,
}


# ------------------------------------------------------------------- views for cards and summary


def card_units(ctx: ExportContext, unit_ids: pl.Series) -> None:
    """Restrict the card views to these units (medians still use every unit of the run)."""
    ctx.con.register("_x_card_units", unit_ids.to_frame("unit_id").to_arrow())


def _card_indicators(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Each unit's indicator lines against its peer group's median, with strength/weakness ranks."""
    return (
        f"""
        WITH x AS (
            SELECT r.unit_id, r.indicator_id, n.name_{ctx.lang} AS indicator_name, n.position,
                   r.dimension_id, r.evidence, r.raw_value, r.score, r.weight, r.contribution,
                   r.imputed,
                   median(r.score) OVER (PARTITION BY s.peer_group, r.indicator_id) AS peer_median
            FROM run_indicator_scores r
            JOIN run_scores s ON s.run_id = r.run_id AND s.unit_id = r.unit_id
            LEFT JOIN _x_nodes n ON n.node_id = r.indicator_id
            WHERE r.run_id = ?)
        SELECT *, score - peer_median AS vs_peer,
               CASE WHEN score > peer_median AND weight > 0 THEN row_number() OVER (
                   PARTITION BY unit_id, score > peer_median AND weight > 0
                   ORDER BY (score - peer_median) * weight DESC, indicator_id) END AS strength_rank,
               CASE WHEN score < peer_median AND weight > 0 THEN row_number() OVER (
                   PARTITION BY unit_id, score < peer_median AND weight > 0
                   ORDER BY (score - peer_median) * weight ASC, indicator_id) END AS weakness_rank
        FROM x WHERE unit_id IN (SELECT unit_id FROM _x_card_units)
        ORDER BY unit_id, position NULLS LAST, indicator_id""",
        [ctx.run.run_id],
    )


def _card_dimensions(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Top-level dimension scores per unit and their peer-group median (the radar)."""
    return (
        f"""
        SELECT d.unit_id, d.dimension_id, n.name_{ctx.lang} AS dimension_name, n.position, d.score,
               median(d.score) OVER (PARTITION BY s.peer_group, d.dimension_id) AS peer_median
        FROM run_dimension_scores d
        JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        LEFT JOIN _x_nodes n ON n.node_id = d.dimension_id
        WHERE d.run_id = ? AND d.parent_id IS NULL
        QUALIFY d.unit_id IN (SELECT unit_id FROM _x_card_units)
        ORDER BY d.unit_id, n.position NULLS LAST, d.dimension_id""",
        [ctx.run.run_id],
    )


def _movers(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Score and rank change against the latest run of the same scheme for an earlier period."""
    return (
        """
        WITH prev AS (
            SELECT run_id, period FROM runs
            WHERE scheme_id = ? AND period < ? ORDER BY period DESC, created_at DESC LIMIT 1)
        SELECT s.unit_id, s.unit_name, prev.period AS previous_period, p.score AS previous_score,
               s.score, s.score - p.score AS score_change, p.rank AS previous_rank, s.rank,
               p.rank - s.rank AS rank_change
        FROM run_scores s
        JOIN prev ON true
        JOIN run_scores p ON p.run_id = prev.run_id AND p.unit_id = s.unit_id
        WHERE s.run_id = ? AND s.score IS NOT NULL AND p.score IS NOT NULL
        ORDER BY score_change DESC, s.unit_id""",
        [ctx.run.scheme_id, ctx.run.period, ctx.run.run_id],
    )


def _weight_by_evidence(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Declared and effective weight share of each evidence class (scheme health)."""
    return (
        """
        SELECT evidence, count(*) AS indicators, sum(declared_weight) AS declared_weight,
               sum(effective_weight) AS effective_weight
        FROM run_weights WHERE run_id = ? AND node_kind = 'indicator'
        GROUP BY evidence ORDER BY evidence""",
        [ctx.run.run_id],
    )


VIEWS: dict[str, Query] = {
    "card_indicators": _card_indicators,
    "card_dimensions": _card_dimensions,
    "movers": _movers,
    "weight_by_evidence": _weight_by_evidence,
}


def frame(ctx: ExportContext, name: str) -> pl.DataFrame:
    """A whole exported table or view (small tables, cards, summary and tests)."""
    query = TABLES.get(name) or VIEWS[name]
    sql, params = query(ctx)
    return ctx.con.sql(sql, params=params or None).pl()


def batches(ctx: ExportContext, name: str, size: int = 100_000) -> Iterator[pl.DataFrame]:
    """The table in row batches, so a 2-million-row breakdown never sits in memory whole."""
    sql, params = TABLES[name](ctx)
    reader = ctx.con.sql(sql, params=params or None).to_arrow_reader(size)
    for batch in reader:
        yield pl.DataFrame(pl.from_arrow(batch))


def row_count(ctx: ExportContext, name: str) -> int:
    sql, params = TABLES[name](ctx)
    rows = ctx.con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
    return int(rows[0][0])


def empty_frame(ctx: ExportContext, name: str) -> pl.DataFrame:
    """The table's columns with no rows (header-only files)."""
    sql, params = TABLES[name](ctx)
    return ctx.con.sql(f"SELECT * FROM ({sql}) LIMIT 0", params=params or None).pl()
