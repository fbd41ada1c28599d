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
from evaluator.export.headers import sheet_name
from evaluator.export.methods import method_rows
from evaluator.export.runinfo import RunInfo, burden_hours
from evaluator.labels import CATALOGUE, Group, boolean, label, pair
from evaluator.readmodel.disclosure import (
    LINE_COLUMNS,
    blank_line,
    flag_evidence,
    hidden_dimensions,
    small_line,
    survey_join,
)
from evaluator.runs import flag_evidence_sql
from evaluator.scheme.models import Scheme
from evaluator.scheme.weights import is_trace_only
from evaluator.scoring.warnings import display_names, read_warnings

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
    min_responses: int = 0  # survey cells under this many valid responses are blanked (non-office)

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
    item_rows: list[tuple[str, str, str]] = []
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
                        "trace_only": is_trace_only(ind),
                        "linked_outcomes": ",".join(ind.linked_outcomes) or None,
                    }
                )
        for i, g in enumerate(s.grades):
            grade_rows.append({"code": g.code, "name_zh": g.name.zh, "name_en": g.name.en, "position": i})
        item_rows = [(v.id, v.name.zh, v.name.en) for v in s.vetoes]
        item_rows += [(a.id, a.name.zh, a.name.en) for a in s.adjustments]
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
        "_x_items": pl.DataFrame(  # veto, bonus and deduction items by id
            item_rows, schema=["code", "name_zh", "name_en"], orient="row"
        ),
        "_x_appeals": ctx.appeals if ctx.appeals is not None else pl.DataFrame(schema=APPEAL_SCHEMA),
        "_x_methodology": methodology_frame(ctx),
    }
    for name, frame in frames.items():
        ctx.con.register(name, frame.to_arrow())


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def named(group: Group, column: str, lang: str) -> str:
    """SQL for the catalogue name of the code in `column` (the code itself when unnamed)."""
    whens = " ".join(f"WHEN {_quote(code)} THEN {_quote(lab.get(lang))}"
                     for code, lab in CATALOGUE[group].items())
    return f"CASE {column} {whens} ELSE {column} END"


def _names_of_list(group: Group, column: str, lang: str) -> str:
    """SQL naming each code of a comma-separated list (`missing,imputed_peer_median`): every
    `,code,` between commas is replaced by its name, then the commas become the list separator."""
    expr = f"(',' || {column} || ',')"
    for code, lab in CATALOGUE[group].items():
        expr = f"replace({expr}, {_quote(f',{code},')}, {_quote(f',{lab.get(lang)},')})"
    sep = "、" if lang == "zh" else ", "
    return f"replace(trim({expr}, ','), ',', {_quote(sep)})"


def refresh_methodology(ctx: ExportContext) -> None:
    """Re-register the methodology rows after notes were added (e.g. a split breakdown)."""
    ctx.con.register("_x_methodology", methodology_frame(ctx).to_arrow())


def methodology_frame(ctx: ExportContext) -> pl.DataFrame:
    """How the run was made, as (section, key, value) rows with the section's and key's names
    beside their codes: run, scheme, data, parameters, appeals, notes, export."""
    r, zh, lang = ctx.run, ctx.lang == "zh", ctx.lang
    yes_no = {True: boolean(True, lang), False: boolean(False, lang)}
    rows: list[tuple[str, str, str]] = [
        ("run", "run_id", r.run_id),
        ("run", "period", r.period),
        ("run", "created_at", str(r.created_at)),
        ("run", "code_version", r.code_version or ""),
        ("run", "published", yes_no[bool(r.published)]),
        ("run", "note", r.note or ""),
        ("scheme", "scheme_id", r.scheme_id),
        ("scheme", "scheme_version", r.scheme_version or ""),
        ("scheme", "scheme_name", r.scheme_name(lang)),
        ("scheme", "scheme_hash_sha256", r.scheme_hash),
        ("scheme", "lint_errors", str(r.lint_errors)),
    ]
    names = display_names(ctx.con, r.run_id, lang)
    rows += [("run", f"run_warning_{i + 1}", w.text(lang, names))
             for i, w in enumerate(read_warnings(ctx.con, r.run_id))]
    if r.lint_errors:
        rows.append(("scheme", "scheme_warning", lint_warning(ctx)))
        messages = _lint_errors_zh(ctx) if zh else r.lint_messages
        rows += [("scheme", f"lint_error_{i + 1}", m) for i, m in enumerate(messages)]
    if ctx.scheme is not None:
        rows.append(("scheme", "burden_hours_per_unit_year", f"{burden_hours(ctx.scheme):.4g}"))
        rows.append(("scheme", "trace_policy", _trace_policy(ctx)))
    rows.append(("data", "batch_ids", ", ".join(str(b) for b in r.batch_ids)))
    rows += [("data", f"batch_{b}", desc) for b, desc in _batch_descriptions(ctx)]
    rows += [
        ("parameters", str(k), yes_no[v] if isinstance(v, bool) else str(v))
        for k, v in sorted(r.parameters.items())
    ]
    if ctx.appeals is not None and ctx.appeals.height:
        rows += [
            ("appeals", f"appeal_{a['appeal_id']}", appeal_line(a, zh))
            for a in ctx.appeals.sort("appeal_id").iter_rows(named=True)
        ]
    else:
        rows.append(("appeals", "appeals", "无申诉记录" if zh else "no appeals on record"))
    rows += [("notes", f"note_{i + 1}", n) for i, n in enumerate(ctx.notes)]
    rows += _uncertainty_rows(ctx)
    rows.append(("export", "generated_at", ctx.generated_at.isoformat()))
    methods = method_rows(ctx.scheme, lang) if ctx.scheme is not None else []
    return pl.DataFrame(
        [*((sec, label(Group.section, sec, lang), key, _key_name(sec, key, lang), value)
           for sec, key, value in rows),
         *((sec, label(Group.section, sec, lang), key, name, value)
           for sec, key, name, value in methods)],
        schema=["section", "section_name", "key", "key_name", "value"],
        orient="row",
    )


def _uncertainty_rows(ctx: ExportContext) -> list[tuple[str, str, str]]:
    """How the intervals, tiers and grade stability were made (docs/uncertainty.md)."""
    zh = ctx.lang == "zh"
    row = ctx.con.execute("SELECT replicates, level, seed, weight_draws, tiers FROM "
                          "run_uncertainty_settings WHERE run_id = ?", [ctx.run.run_id]).fetchall()
    if not row:
        return [("uncertainty", "uncertainty_method",
                 "未计算自助法区间（evaluator uncertainty）" if zh
                 else "no bootstrap computed (evaluator uncertainty)")]
    reps, level, seed, draws, tiers = row[0]
    out = [
        ("uncertainty", "uncertainty_method",
         "自助法：受访者在本单位内按 Poisson(1) 权重重抽样，申报了测量误差的成效数据按正态误差抽取，"
         "其余数据不变；每次重复按本方案完整重新计分、排名、定等；区间为重复样本的百分位区间" if zh
         else "bootstrap: respondents resampled within their unit (Poisson(1) weights), outcome "
         "data with declared measurement error drawn from a normal error, other data as loaded; "
         "each replicate rescored, ranked and graded by this scheme; percentile intervals"),
        ("uncertainty", "uncertainty_level", f"{level:g}"),
        ("uncertainty", "uncertainty_replicates", str(reps)),
        ("uncertainty", "uncertainty_seed", str(seed)),
        ("uncertainty", "weight_draws", str(draws)),
        ("uncertainty", "rank_interval_coverage",
         "排名区间往往偏窄：每个单位的名次取决于所有单位的得分，百分位排名区间覆盖真实名次的"
         "比例常低于名义水平，名次接近的单位尤其如此" if zh
         else "rank intervals tend to under-cover: a rank depends on every unit's score, and "
         "percentile rank intervals hold the true rank less often than their level says, above "
         "all for units with close scores"),
    ]
    if tiers:
        out.append(("uncertainty", "tiers",
                    "按名次顺序，梯队以最好的单位为首；后续单位的最好可能名次不差于首位单位的"
                    "最差可能名次时归入同一梯队，否则另起一档" if zh
                    else "in rank order, a tier opens with its best unit; a following unit "
                    "whose best plausible rank reaches the leader's worst joins it, the first "
                    "that does not opens the next tier"))
    if ctx.con.execute("SELECT count(*) FROM run_uncertainty WHERE run_id = ? AND tier_grade "
                       "IS NOT NULL", [ctx.run.run_id]).fetchall()[0][0]:
        out.append(("uncertainty", "tier_grades",
                    "按梯队定等（tier_grade）：同一梯队的单位统计上无法区分，定同一等次，即该梯队"
                    "中位单位按分数线所得等次；一票否决仍限制其本单位；名额按整个梯队计，超出名额的"
                    "梯队整体降一档。按分数定的等次（grade）保持不变，二者并列" if zh
                    else "grades by tier (tier_grade): units of one tier cannot be told apart, so "
                    "they share one grade, the band its median unit reaches by the thresholds; a "
                    "veto still caps its own unit; quotas count whole tiers, a tier that would "
                    "exceed one moves down a band whole. The score-band grade (grade) is kept "
                    "beside it"))
    return out


NUMBERED_KEYS = {"lint_error": "lint_error", "batch": "batch", "appeal": "appeal", "note": "note_n",
                 "run_warning": "run_warning"}


def _key_name(section: str, key: str, lang: str) -> str:
    """A methodology key for people: `batch_3` → 数据批次 3, a parameter by its name."""
    group = Group.parameter if section == "parameters" else Group.meta
    if pair(group, key) is not None:
        return label(group, key, lang)
    stem, _, number = key.rpartition("_")
    if number.isdigit() and stem in NUMBERED_KEYS:
        return f"{label(Group.meta, NUMBERED_KEYS[stem], lang)} {number}"
    return key


def _trace_policy(ctx: ExportContext) -> str:
    assert ctx.scheme is not None
    tp = ctx.scheme.trace_policy
    if ctx.lang == "zh":
        to = "成效与满意度指标" if tp.freed_weight == "outcomes" else "全部非留痕指标"
        return (f"纯留痕指标权重系数 {tp.trace_only_factor:g}，留痕类权重合计上限 {tp.max_share:.0%}，"
                f"腾出的权重转给{to}（trace_only_factor={tp.trace_only_factor:g}, "
                f"max_share={tp.max_share:g}, freed_weight={tp.freed_weight}）")
    return (f"trace_only_factor={tp.trace_only_factor}, max_share={tp.max_share}, "
            f"freed_weight={tp.freed_weight}")


def appeal_line(a: dict[str, Any], zh: bool) -> str:
    """One appeal and its outcome in a sentence (methodology sheet, cards)."""
    status = (label(Group.appeal_status, a["status"], "zh"), a["status"])
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
    sheet = sheet_name("lint", ctx.lang)
    if more:
        messages = messages[:limit]
        messages.append(f"另有 {more} 项，见“{sheet}”表" if zh else f"{more} more in the “{sheet}” sheet")
    items = ("；" if zh else "; ").join(messages) or (f"见“{sheet}”表" if zh else f"see the “{sheet}” sheet")
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
    if ctx.lang == "zh":
        return [(b, f"{label(Group.batch_kind, k, 'zh')}（{k}）{f}，{n} 行，sha256={c[:16]}…，导入于 {t}")
                for b, k, f, c, n, t in rows]
    return [(b, f"{k} {f} rows={n} sha256={c[:16]}… loaded {t}") for b, k, f, c, n, t in rows]


# --------------------------------------------------------------------------- queries

Query = Callable[[ExportContext], tuple[str, list[Any] | dict[str, Any]]]


def _summary(ctx: ExportContext) -> tuple[str, list[Any]]:
    """One row per unit: codes (unit type, grade, veto, flags…) with their names beside them."""
    warning = lint_warning(ctx) if ctx.run.lint_errors else None
    lang, sep = ctx.lang, "、" if ctx.lang == "zh" else ", "
    no_data = _quote(label(Group.value_status, "no_data", lang))  # no own data: no grade
    return (
        f"""
        SELECT s.unit_id, s.unit_name, s.unit_type,
               {named(Group.unit_type, "s.unit_type", lang)} AS unit_type_name, s.peer_group,
               {named(Group.peer_group, "s.peer_group", lang)} AS peer_group_name,
               s.score, iv.score_low, iv.score_high, s.rank, iv.rank_low, iv.rank_high,
               iv.tier, s.peer_rank,
               s.grade, coalesce(g.name_{lang}, CASE WHEN s.score IS NULL THEN {no_data}
                   ELSE s.grade END) AS grade_name, s.grade_reason,
               {named(Group.grade_reason, "s.grade_reason", lang)} AS grade_reason_name,
               s.base_score, s.bonus, s.deduction, s.veto,
               coalesce(v.name_{lang}, s.veto) AS veto_name, s.score_declared, s.rank_declared,
               s.coverage, f.flags, f.flag_names,
               ?::VARCHAR AS scheme_warning
        FROM run_scores s
        JOIN (SELECT run_id AS iv_run, unit_id AS iv_unit, score_low, score_high, rank_low,
                     rank_high, tier FROM run_intervals) iv
          ON iv.iv_run = s.run_id AND iv.iv_unit = s.unit_id
        LEFT JOIN _x_grades g ON g.code = s.grade
        LEFT JOIN _x_items v ON v.code = s.veto
        LEFT JOIN (SELECT unit_id, string_agg(DISTINCT flag, ', ' ORDER BY flag) AS flags,
                          string_agg(DISTINCT {named(Group.flag, "flag", lang)}, '{sep}'
                                     ORDER BY {named(Group.flag, "flag", lang)}) AS flag_names
                   FROM run_flags WHERE run_id = ? GROUP BY unit_id) f USING (unit_id)
        WHERE s.run_id = ?
        ORDER BY s.rank NULLS LAST, s.unit_id""",
        [warning, ctx.run.run_id, ctx.run.run_id],
    )


def _breakdown(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Every unit's indicator lines; for a non-office audience a small satisfaction cell's raw
    value, score and contribution are blanked and the line marked `suppressed`."""
    floor = ctx.min_responses
    value = {c: f"CASE WHEN {small_line(floor)} THEN NULL ELSE r.{c} END" for c in LINE_COLUMNS}
    return (
        f"""
        SELECT r.unit_id, s.unit_name, r.indicator_id, n.name_{ctx.lang} AS indicator_name,
               r.dimension_id, d.name_{ctx.lang} AS dimension_name, r.evidence,
               {named(Group.evidence, "r.evidence", ctx.lang)} AS evidence_name,
               {value["raw_value"]} AS raw_value, {value["transformed_value"]} AS transformed_value,
               r.rule, {named(Group.rule, "r.rule", ctx.lang)} AS rule_name,
               {value["score"]} AS score, r.declared_weight, r.weight, r.local_weight,
               {value["contribution"]} AS contribution, r.missing_policy,
               {named(Group.missing_policy, "r.missing_policy", ctx.lang)} AS missing_policy_name,
               r.imputed, r.flags, {_names_of_list(Group.value_flag, "r.flags", ctx.lang)}
                   AS value_flag_names, {small_line(floor)} AS suppressed
        FROM run_indicator_scores r {survey_join()}
        LEFT JOIN run_scores s ON s.run_id = r.run_id AND s.unit_id = r.unit_id
        LEFT JOIN _x_nodes n ON n.node_id = r.indicator_id
        LEFT JOIN _x_nodes d ON d.node_id = r.dimension_id
        WHERE r.run_id = ?
        ORDER BY r.unit_id, n.position NULLS LAST, r.indicator_id""",
        [ctx.run.run_id],
    )


def _dimensions(ctx: ExportContext) -> tuple[str, dict[str, Any]]:
    """Every unit's dimension scores; one resting on small satisfaction cells only is blanked
    for a non-office audience."""
    return (
        f"""
        SELECT d.unit_id, s.unit_name, d.dimension_id, n.name_{ctx.lang} AS dimension_name,
               d.parent_id, d.depth, CASE WHEN h.unit_id IS NULL THEN d.score END AS score,
               d.weight, CASE WHEN h.unit_id IS NULL THEN d.contribution END AS contribution,
               h.unit_id IS NOT NULL AS suppressed
        FROM run_dimension_scores d LEFT JOIN _x_nodes n ON n.node_id = d.dimension_id
        LEFT JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        LEFT JOIN {hidden_dimensions(ctx.min_responses, "$run")} h
             ON h.unit_id = d.unit_id AND h.dimension_id = d.dimension_id
        WHERE d.run_id = $run
        ORDER BY d.unit_id, n.position NULLS LAST, d.dimension_id""",
        {"run": ctx.run.run_id},
    )


SMALL_CELL_COLUMNS = (
    "responses", "valid", "effective_n", "raw_index", "index_value", "se", "ci_low", "ci_high",
    "top_box_share", "shrinkage", "excluded_speeder", "excluded_straightline",
    "excluded_duplicate", "excluded_out_of_scale",
)


def _survey_quality(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Per unit and satisfaction indicator; for a non-office audience the cells resting on fewer
    than `disclosure.min_responses` valid responses are blanked and marked `suppressed`."""
    small = f"coalesce(q.valid, 0) < {int(ctx.min_responses)}"
    blank = ", ".join(f"CASE WHEN {small} THEN NULL ELSE q.{c} END AS {c}" for c in SMALL_CELL_COLUMNS)
    return (
        f"""
        SELECT q.unit_id, s.unit_name, q.indicator_id, n.name_{ctx.lang} AS indicator_name,
               q.* EXCLUDE (run_id, unit_id, indicator_id) REPLACE ({blank}),
               {small} AS suppressed
        FROM run_survey_quality q
        LEFT JOIN run_scores s ON s.run_id = q.run_id AND s.unit_id = q.unit_id
        LEFT JOIN _x_nodes n ON n.node_id = q.indicator_id
        WHERE q.run_id = ?
        ORDER BY q.unit_id, q.indicator_id""",
        [ctx.run.run_id],
    )


def _flags(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""SELECT f.unit_id, s.unit_name, f.flag,
                   {named(Group.flag, "f.flag", ctx.lang)} AS flag_name,
                   {flag_evidence(flag_evidence_sql(ctx.con, ctx.lang, "f"), ctx.min_responses,
                                  ctx.lang, run="f.run_id")} AS evidence
              FROM run_flags f
              LEFT JOIN run_scores s ON s.run_id = f.run_id AND s.unit_id = f.unit_id
              WHERE f.run_id = ? ORDER BY f.unit_id, f.flag""",
        [ctx.run.run_id],
    )


def _funnels(ctx: ExportContext) -> tuple[str, list[Any]]:
    """The run's funnel plots, one row per funnel, unit (and satisfaction indicator): value,
    sample size, limits at that size and the overdispersion correction (docs/fairness.md). For a
    non-office audience the rows resting on fewer than `disclosure.min_responses` responses are
    blanked, as in survey_quality."""
    small = (f"coalesce(CASE WHEN f.funnel = 'excluded_share' THEN f.n ELSE q.valid END, 0) "
             f"< {int(ctx.min_responses)}")
    cells = ("n", "value", "z", "z_adjusted", "outside_95", "outside_998")
    blank = {c: f"CASE WHEN {small} THEN NULL ELSE f.{c} END" for c in cells}
    return (
        f"""SELECT f.unit_id, s.unit_name, f.funnel,
                   {named(Group.funnel, "f.funnel", ctx.lang)} AS funnel_name,
                   f.indicator_id, n.name_{ctx.lang} AS indicator_name,
                   {blank["n"]} AS sample_size, {blank["value"]} AS value, f.centre,
                   {blank["z"]} AS z, {blank["z_adjusted"]} AS z_adjusted, f.phi, f.tau2,
                   f.overdispersed, f.lo95, f.hi95, f.lo998, f.hi998,
                   {blank["outside_95"]} AS outside_95, {blank["outside_998"]} AS outside_998,
                   {small} AS suppressed
              FROM run_funnels f
              LEFT JOIN run_survey_quality q ON q.run_id = f.run_id AND q.unit_id = f.unit_id
                   AND q.indicator_id = f.indicator_id
              LEFT JOIN run_scores s ON s.run_id = f.run_id AND s.unit_id = f.unit_id
              LEFT JOIN _x_nodes n ON n.node_id = f.indicator_id
              WHERE f.run_id = ?
              ORDER BY f.funnel DESC, f.indicator_id, f.unit_id""",
        [ctx.run.run_id],
    )


def _value_added(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Peer comparison and value-added beside the raw score (`observed`), per unit for the total
    (`indicator_id` empty, named "total score") and each indicator; empty when the scheme
    declares no `fairness`."""
    total = _quote(label(Group.node_kind, "total", ctx.lang))
    return (
        f"""SELECT v.unit_id, s.unit_name, v.indicator_id,
                   CASE WHEN v.indicator_id IS NULL THEN {total} ELSE n.name_{ctx.lang} END
                       AS indicator_name,
                   v.peer, {named(Group.peer_group, "v.peer", ctx.lang)} AS peer_name,
                   v.observed, v.expected, v.value_added, v.peer_rank, v.peer_units,
                   v.peer_median, v.n_fit, v.r2
              FROM run_value_added v
              LEFT JOIN run_scores s ON s.run_id = v.run_id AND s.unit_id = v.unit_id
              LEFT JOIN _x_nodes n ON n.node_id = v.indicator_id
              WHERE v.run_id = ?
              ORDER BY v.unit_id, v.indicator_id NULLS FIRST""",
        [ctx.run.run_id],
    )


def _scheme(ctx: ExportContext) -> tuple[str, list[Any]]:
    lang = ctx.lang
    return (
        f"""
        SELECT w.node_id, w.node_kind, {named(Group.node_kind, "w.node_kind", lang)} AS node_kind_name,
               w.parent_id, n.name_{lang} AS name, w.evidence,
               {named(Group.evidence, "w.evidence", lang)} AS evidence_name, r.rule,
               {named(Group.rule, "r.rule", lang)} AS rule_name, i.direction,
               {named(Group.direction, "i.direction", lang)} AS direction_name, i.source,
               i.frequency, {named(Group.frequency, "i.frequency", lang)} AS frequency_name,
               i.burden_minutes, i.trace_only, i.linked_outcomes,
               w.declared_weight, w.effective_weight
        FROM run_weights w
        LEFT JOIN _x_nodes n ON n.node_id = w.node_id
        LEFT JOIN _x_indicators i ON i.indicator_id = w.node_id
        LEFT JOIN (SELECT indicator_id, any_value(rule) AS rule FROM run_indicator_scores
                   WHERE run_id = ? GROUP BY indicator_id) r ON r.indicator_id = w.node_id
        WHERE w.run_id = ?
        ORDER BY n.position NULLS LAST, w.node_id""",
        [ctx.run.run_id, ctx.run.run_id],
    )


def _reference_values(ctx: ExportContext) -> tuple[str, list[Any]]:
    return (
        f"""SELECT indicator_id, n.name_{ctx.lang} AS indicator_name, peer_group, unit_id,
                   name, {named(Group.reference, "name", ctx.lang)} AS reference_name, value
              FROM run_reference_values LEFT JOIN _x_nodes n ON n.node_id = indicator_id
              WHERE run_id = ? ORDER BY indicator_id, peer_group NULLS FIRST, unit_id NULLS FIRST,
                    name""",
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
    status = named(Group.appeal_status, "status", ctx.lang)
    cols = ", ".join(f"{c}, {status} AS status_name" if c == "status" else c for c in APPEAL_SCHEMA)
    return f"SELECT {cols} FROM _x_appeals ORDER BY appeal_id", []


def _methodology(ctx: ExportContext) -> tuple[str, list[Any]]:
    return "SELECT * FROM _x_methodology", []


def _sensitivity(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Per unit: bootstrap intervals, tier, P(top/bottom 10%), P(grade), and the weight
    Monte-Carlo's rank range and grade stability (no rows when uncertainty was not computed)."""
    return (
        f"""
        SELECT s.unit_id, s.unit_name, s.rank, s.grade, coalesce(g.name_{ctx.lang}, s.grade)
                   AS grade_name, s.score, u.score_low, u.score_high, u.rank_low, u.rank_high,
               u.rank_median, u.tier, u.tier_grade, u.p_top10, u.p_bottom10,
               p.grade_probabilities,
               w.rank_median AS mc_rank_median, w.rank_p05 AS mc_rank_p05,
               w.rank_p95 AS mc_rank_p95, w.grade_stability, w.firm
        FROM run_uncertainty u
        JOIN run_scores s ON s.run_id = u.run_id AND s.unit_id = u.unit_id
        LEFT JOIN _x_grades g ON g.code = s.grade
        LEFT JOIN run_sensitivity w ON w.run_id = u.run_id AND w.unit_id = u.unit_id
        LEFT JOIN (SELECT unit_id, string_agg(grade || ' ' || round(probability, 3)::VARCHAR,
                                              '; ' ORDER BY probability DESC, grade)
                              AS grade_probabilities
                   FROM run_grade_probabilities WHERE run_id = ? GROUP BY unit_id) p
               ON p.unit_id = u.unit_id
        WHERE u.run_id = ?
        ORDER BY s.rank NULLS LAST, s.unit_id""",
        [ctx.run.run_id, ctx.run.run_id],
    )


def _sensitivity_indicators(ctx: ExportContext) -> tuple[str, list[Any]]:
    """Leave-one-out per indicator: how far the ranking moves without it."""
    return (
        f"""SELECT l.indicator_id, n.name_{ctx.lang} AS indicator_name, l.mean_abs_rank_change,
                   l.max_abs_rank_change, l.spearman
              FROM run_sensitivity_indicators l LEFT JOIN _x_nodes n ON n.node_id = l.indicator_id
              WHERE l.run_id = ? ORDER BY l.mean_abs_rank_change DESC, l.indicator_id""",
        [ctx.run.run_id],
    )


# name -> query, in the order sheets and files are written (summary first: the CONTRACT sheet)
TABLES: dict[str, Query] = {
    "summary": _summary,
    "breakdown": _breakdown,
    "dimensions": _dimensions,
    "survey_quality": _survey_quality,
    "flags": _flags,
    "funnels": _funnels,
    "value_added": _value_added,
    "scheme": _scheme,
    "reference_values": _reference_values,
    "lint": _lint,
    "appeals": _appeals,
    "methodology": _methodology,
    "sensitivity": _sensitivity,
    "sensitivity_indicators": _sensitivity_indicators,
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
                   r.dimension_id, r.evidence,
                   {named(Group.evidence, "r.evidence", ctx.lang)} AS evidence_name,
                   r.weight, r.imputed, {blank_line(ctx.min_responses)},
                   {small_line(ctx.min_responses)} AS suppressed, {int(ctx.min_responses)}
                       AS min_responses,
                   median(CASE WHEN NOT {small_line(ctx.min_responses)} THEN r.score END)
                       OVER (PARTITION BY s.peer_group, r.indicator_id) AS peer_median
            FROM run_indicator_scores r {survey_join()}
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


def _card_dimensions(ctx: ExportContext) -> tuple[str, dict[str, Any]]:
    """Top-level dimension scores per unit and their peer-group median (the radar)."""
    return (
        f"""
        SELECT d.unit_id, d.dimension_id, n.name_{ctx.lang} AS dimension_name, n.position,
               CASE WHEN h.unit_id IS NULL THEN d.score END AS score,
               median(CASE WHEN h.unit_id IS NULL THEN d.score END)
                   OVER (PARTITION BY s.peer_group, d.dimension_id) AS peer_median,
               h.unit_id IS NOT NULL AS suppressed
        FROM run_dimension_scores d
        JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        LEFT JOIN _x_nodes n ON n.node_id = d.dimension_id
        LEFT JOIN {hidden_dimensions(ctx.min_responses, "$run")} h
             ON h.unit_id = d.unit_id AND h.dimension_id = d.dimension_id
        WHERE d.run_id = $run AND d.parent_id IS NULL
        QUALIFY d.unit_id IN (SELECT unit_id FROM _x_card_units)
        ORDER BY d.unit_id, n.position NULLS LAST, d.dimension_id""",
        {"run": ctx.run.run_id},
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


def _league_table(ctx: ExportContext) -> tuple[str, list[Any]]:
    """The league table a unit receives: each unit's rank, score, grade and (when computed)
    tier, nothing else."""
    tiers = ctx.con.execute("SELECT count(*) FROM run_uncertainty_settings WHERE run_id = ? "
                            "AND tiers", [ctx.run.run_id]).fetchall()[0][0]
    tier = ", i.tier" if tiers else ""
    no_data = _quote(label(Group.value_status, "no_data", ctx.lang))
    return (
        f"""SELECT s.rank, s.unit_id, s.unit_name, s.score,
                   coalesce(g.name_{ctx.lang}, CASE WHEN s.score IS NULL THEN {no_data}
                       ELSE s.grade END) AS grade_name{tier}
            FROM run_scores s LEFT JOIN _x_grades g ON g.code = s.grade
            LEFT JOIN run_intervals i ON i.run_id = s.run_id AND i.unit_id = s.unit_id
            WHERE s.run_id = ? ORDER BY s.rank NULLS LAST, s.unit_id""",
        [ctx.run.run_id],
    )


# the tables of a unit's export (`--audience unit`), written by the same writers as TABLES
UNIT_TABLES: dict[str, Query] = {"league_table": _league_table}

VIEWS: dict[str, Query] = {
    "card_indicators": _card_indicators,
    "card_dimensions": _card_dimensions,
    "movers": _movers,
    "weight_by_evidence": _weight_by_evidence,
}


def frame(ctx: ExportContext, name: str) -> pl.DataFrame:
    """A whole exported table or view (small tables, cards, summary and tests)."""
    sql, params = _query(name)(ctx)
    return ctx.con.sql(sql, params=params or None).pl()


def _query(name: str) -> Query:
    return TABLES.get(name) or UNIT_TABLES.get(name) or VIEWS[name]


def batches(ctx: ExportContext, name: str, size: int = 100_000) -> Iterator[pl.DataFrame]:
    """The table in row batches, so a 2-million-row breakdown never sits in memory whole."""
    sql, params = _query(name)(ctx)
    reader = ctx.con.sql(sql, params=params or None).to_arrow_reader(size)
    for batch in reader:
        yield pl.DataFrame(pl.from_arrow(batch))


def row_count(ctx: ExportContext, name: str) -> int:
    sql, params = _query(name)(ctx)
    rows = ctx.con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
    return int(rows[0][0])


def empty_frame(ctx: ExportContext, name: str) -> pl.DataFrame:
    """The table's columns with no rows (header-only files)."""
    sql, params = _query(name)(ctx)
    return ctx.con.sql(f"SELECT * FROM ({sql}) LIMIT 0", params=params or None).pl()
