"""`evaluator validate | lint | weights | scheme export | scheme import`: scheme files checked
before anything else reads them, and the spreadsheet round trip for offices that draft in Excel."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from evaluator.cli.common import Lang, console, err_console, fail, print_issues

if TYPE_CHECKING:  # imported where used: `evaluator --help` loads no lint, openpyxl or numpy
    from evaluator.lint import LintReport
    from evaluator.scheme import LoadedScheme
    from evaluator.scheme.measures import LoadedRegistry
    from evaluator.scoring.pca_weights import PcaWeight


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


SchemeArg = Annotated[Path, typer.Argument(help="scheme YAML file")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="text (a table) or json")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="language of messages and names: en or zh")]

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}  # by lint Severity


def _load_or_exit(scheme: Path, code: int, json_errors: bool = False) -> LoadedScheme:
    """Load a scheme; on failure print every issue with its location (stderr) and exit with
    `code`. With `json_errors`, stdout also gets them as a JSON object (`lint --format json`)."""
    from evaluator.lint.report import unreadable_json
    from evaluator.scheme import SchemeInvalid, load_scheme

    try:
        return load_scheme(scheme)
    except SchemeInvalid as exc:
        print_issues(exc.issues, str(scheme))
        if json_errors:
            typer.echo(unreadable_json(str(scheme), exc.issues))
        raise typer.Exit(code) from None


def validate(scheme: SchemeArg) -> None:
    """Check a scheme file (or a measure registry); print every error with its file, line and
    key path (exit 1)."""
    if _is_registry(scheme):
        _validate_registry(scheme)
        return
    loaded = _load_or_exit(scheme, 1)
    s = loaded.scheme
    console.print(
        f"[green]✓[/] {scheme}: scheme '{s.id}' v{s.version} ({s.name.zh} / {s.name.en}), "
        f"{len(s.indicators())} indicators in {len(s.all_dimensions())} dimensions, "
        f"unit types {', '.join(s.unit_types)}"
    )


def _is_registry(path: Path) -> bool:
    """Whether the file is a measure registry (a top-level `measures` list, no `dimensions`)."""
    from evaluator.scheme import SchemeInvalid
    from evaluator.scheme.jsonpath import plain_json
    from evaluator.scheme.loader import MAX_DEPTH, parse_yaml
    from evaluator.scheme.measures import is_registry_text

    try:
        text = path.read_text(encoding="utf-8")
        doc = plain_json(text, MAX_DEPTH)  # a big JSON scheme: no slow YAML parse for this
        if doc is not None:
            return "measures" in doc and "dimensions" not in doc
        return is_registry_text(parse_yaml(text, str(path)))
    except (OSError, UnicodeDecodeError, SchemeInvalid):
        return False


def _load_registry_or_exit(path: Path, code: int) -> LoadedRegistry:
    from evaluator.scheme import SchemeInvalid
    from evaluator.scheme.measures import load_registry

    try:
        return load_registry(path)
    except SchemeInvalid as exc:
        print_issues(exc.issues, f"the measure registry {path}")
        raise typer.Exit(code) from None


def _validate_registry(path: Path) -> None:
    reg = _load_registry_or_exit(path, 1)
    ms = reg.registry.measures
    unit = sum(m.origin.value == "unit" for m in ms)
    console.print(f"[green]✓[/] {path}: measure registry, {len(ms)} measures ({unit} reported by "
                  f"units, {len(ms) - unit} from existing systems)")
    for d in reg.likely_duplicates():
        err_console.print(
            f"[yellow]warning:[/] measures '{d.first}' and '{d.second}' have near-identical "
            f"definitions (similarity {d.ratio:.0%}): likely the same figure registered twice "
            f"/ 两个数据项定义几乎相同，可能重复登记")


RegistryOpt = Annotated[Path | None, typer.Option(
    "--registry", help="measure registry YAML (default: measures.yaml beside the scheme, if any)")]


def lint(
    scheme: SchemeArg,
    fmt: FormatOpt = OutputFormat.text,
    lang: LangOpt = Lang.en,
    registry: RegistryOpt = None,
) -> None:
    """Formalism audit of a scheme: exit 0 without errors, 1 with errors, 2 when unreadable."""
    from evaluator.lint import lint_scheme
    from evaluator.lint.report import unreadable_json
    from evaluator.scheme import SchemeIssue
    from evaluator.scheme.measures import find_registry

    if _is_registry(scheme):
        issue = SchemeIssue(str(scheme), 1, "", "this is a measure registry, not a scheme: check "
                            "it with `evaluator validate`; lint a scheme that uses it")
        print_issues([issue])
        if fmt is OutputFormat.json:
            typer.echo(unreadable_json(str(scheme), [issue]))
        raise typer.Exit(2)
    loaded = _load_or_exit(scheme, 2, json_errors=fmt is OutputFormat.json)
    found = find_registry(scheme, registry)
    reg = _load_registry_or_exit(found, 2) if found is not None else None
    report = lint_scheme(loaded, registry=reg)
    if fmt is OutputFormat.json:
        typer.echo(report.to_json())
    else:
        _print_report(report, lang.value)
    if report.has_errors:
        raise typer.Exit(1)


LONG_REPORT = 300  # findings; beyond, one plain line each instead of a table


def _print_lines(report: LintReport, lang: str, titles: dict[str, str]) -> None:
    """A long report (thousands of indicators) as one tab-separated line per finding: the
    table's columns, without its layout."""
    from evaluator.labels import Group, label

    zh = lang == "zh"
    n = len(report.findings)
    typer.echo(f"{report.file} — 形式主义检查（{n} 条；完整数据请用 --format json）" if zh else
               f"{report.file} — formalism lint ({n} findings; --format json for the full data)")
    rows = []
    for f in report.findings:
        sev = label(Group.severity, f.severity, "zh") if zh else f.severity.value
        rows.append("\t".join((sev, f"{f.rule} ({titles.get(f.rule, '')})", f.indicator or "—",
                               str(f.line or ""), f.text(lang).replace("\n", " "))))
    typer.echo("\n".join(rows))


def _print_report(report: LintReport, lang: str) -> None:
    from evaluator.labels import Group, label
    from evaluator.lint import Severity, builtin_rules

    zh = lang == "zh"
    titles = {r.id: r.title(lang) for r in builtin_rules()}
    table = Table(title=f"{report.file} — {'形式主义检查' if zh else 'formalism lint'}",
                  show_lines=False, expand=False)
    for col in (("级别", "severity"), ("规则", "rule"), ("指标", "indicator"), ("行", "line"),
                ("说明", "message")):
        table.add_column(col[0] if zh else col[1], overflow="fold")
    for f in report.findings:
        sev = label(Group.severity, f.severity, "zh") if zh else f.severity.value
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{sev}[/]",
                      f"{f.rule}\n{titles.get(f.rule, '')}",
                      f.indicator or "—", str(f.line or ""), escape(f.text(lang)))
    if len(report.findings) > LONG_REPORT:  # rich lays a table out at ~10 ms a row
        _print_lines(report, lang, titles)
    elif report.findings:
        console.print(table)
    s = report.summary
    counts = {sev: report.count(sev) for sev in Severity}
    if zh:
        console.print(
            f"指标 {s['indicator_count']} 项；留痕权重 {s['trace_weight_share']:.1%}"
            f"（计分后 {s['trace_weight_share_effective']:.1%}）；"
            f"过程+留痕 {s['process_trace_share']:.1%}；满意度 {s['satisfaction_share']:.1%}；"
            f"每单位每年报送 {s['reports_per_unit_year']} 次、"
            f"{s['burden_hours_per_unit_year']:.1f} 小时"
        )
        console.print(f"错误 {counts[Severity.error]}，警告 {counts[Severity.warning]}，"
                      f"提示 {counts[Severity.info]}；已屏蔽 {len(report.suppressed)}")
    else:
        console.print(
            f"{s['indicator_count']} indicators; trace weight {s['trace_weight_share']:.1%} "
            f"(effective {s['trace_weight_share_effective']:.1%}); process+trace "
            f"{s['process_trace_share']:.1%}; satisfaction {s['satisfaction_share']:.1%}; "
            f"{s['reports_per_unit_year']} reports and {s['burden_hours_per_unit_year']:.1f} h "
            "per unit per year"
        )
        console.print(f"{counts[Severity.error]} error(s), {counts[Severity.warning]} warning(s), "
                      f"{counts[Severity.info]} info; {len(report.suppressed)} silenced")


def weights(
    scheme: SchemeArg,
    fmt: FormatOpt = OutputFormat.text,
    lang: LangOpt = Lang.en,
    pca_db: Annotated[Path | None, typer.Option(
        "--pca-db", help="also show PCA-derived local weights from a stored run in this "
        "database (shown, never applied)")] = None,
    run: Annotated[str | None, typer.Option(
        "--run", help="with --pca-db: the run (id or prefix; default the latest)")] = None,
) -> None:
    """Declared vs effective (after the trace policy) weight of every dimension and indicator;
    with --pca-db, the PCA-derived local weight beside them."""
    from evaluator.labels import Group, label
    from evaluator.scheme.weights import weight_table

    loaded = _load_or_exit(scheme, 1)
    rows = weight_table(loaded.scheme)
    names = {d.id: d.name for d in loaded.scheme.all_dimensions()}
    names.update({i.id: i.name for i in loaded.scheme.indicators()})
    pca = _pca(loaded, pca_db, run) if pca_db is not None else None
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([
            {"node_id": w.node_id, "kind": w.kind, "parent_id": w.parent_id,
             "evidence": w.evidence.value if w.evidence else None, "local": round(w.local, 6),
             "declared": round(w.declared, 6), "effective": round(w.effective, 6),
             "trace_only": w.trace_only,
             **({"pca_local": round(pca[w.node_id].share, 6) if w.node_id in pca else None,
                 "pca_loading": round(pca[w.node_id].loading, 6) if w.node_id in pca else None}
                if pca is not None else {})}
            for w in rows
        ], ensure_ascii=False, indent=2))
        return
    zh = lang is Lang.zh
    parent = {w.node_id: w.parent_id for w in rows}

    def depth(node: str) -> int:
        up = parent.get(node)
        return 0 if up is None else 1 + depth(up)

    title = "申报权重与有效权重" if zh else "declared vs effective weights"
    table = Table(title=f"{scheme} — {title}")
    for col, colzh in (("node", label(Group.field, "node_id", "zh")),
                       ("name", label(Group.field, "name", "zh")),
                       ("evidence", label(Group.field, "evidence_name", "zh")),
                       ("local", label(Group.field, "local_weight", "zh")),
                       ("declared", label(Group.field, "declared_weight", "zh")),
                       ("effective", label(Group.field, "effective_weight", "zh")),
                       ("change", "变化"),
                       *((("pca", "主成分权重（仅供参考）"),) if pca is not None else ())):
        table.add_column(colzh if zh else col, no_wrap=col == "node",
                         justify="left" if col in ("node", "name", "evidence") else "right")
    for w in rows:
        node = f"{'  ' * depth(w.node_id)}{w.node_id}"
        if w.kind == "dimension":
            node = f"[bold]{node}[/]"
        ev = label(Group.evidence, w.evidence, "zh") if zh else (w.evidence.value if w.evidence else "")
        if w.trace_only:
            ev += f" ({label(Group.field, 'trace_only', lang.value) if zh else 'trace-only'})"
        change = w.effective - w.declared
        style = "red" if change < -1e-9 else "green" if change > 1e-9 else "dim"
        extra = [] if pca is None else [
            f"{pca[w.node_id].share:.1%}" if w.node_id in pca else "—"]
        table.add_row(node, escape(names[w.node_id].get(lang.value)), ev, f"{w.local:.1%}",
                      f"{w.declared:.2%}", f"{w.effective:.2%}", f"[{style}]{change:+.2%}[/]",
                      *extra)
    console.print(table)
    if pca is not None:
        console.print(
            "主成分权重：各子项在所选运行中的得分（完整个案）第一主成分载荷，仅供对照，不参与计分；"
            "如需采用，请写入方案" if zh else
            "pca: local weights from the first principal component of the children's scores in "
            "the run (complete cases); shown for comparison, never applied: write them into "
            "the scheme to use them")
    p = loaded.scheme.trace_policy
    console.print(
        f"trace_policy: trace_only_factor {p.trace_only_factor:g}, max_share {p.max_share:.0%}, "
        f"freed weight to {p.freed_weight}"
    )


def _pca(loaded: LoadedScheme, db: Path, run: str | None) -> dict[str, PcaWeight]:
    """The PCA weights of a stored run of this scheme, by node; a clear error otherwise."""
    from evaluator.runs import RunNotFound, resolve_run
    from evaluator.scoring.pca_weights import pca_weights
    from evaluator.store import connect

    if not db.exists():
        fail(f"--pca-db {db}: no such database file")
    con = connect(db, read_only=True)
    try:
        try:
            run_id = resolve_run(con, run)
        except RunNotFound as exc:
            fail(str(exc))
        scored = con.execute("SELECT scheme_id FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if scored[0][0] != loaded.scheme.id:
            fail(f"run {run_id} scored scheme '{scored[0][0]}', not '{loaded.scheme.id}': give "
                 "--run of a run of this scheme")
        return {p.node_id: p for p in pca_weights(con, loaded.scheme, run_id)}
    finally:
        con.close()


scheme_app = typer.Typer(
    help="The scheme as a spreadsheet template: export it, fill it in Excel or LibreOffice, "
    "import it back as YAML.", no_args_is_help=True)


@scheme_app.command("export")
def export_xlsx(
    scheme: Annotated[Path | None, typer.Argument(
        help="scheme YAML file; leave it out for a blank template")] = None,
    xlsx: Annotated[Path, typer.Option("--xlsx", help="the .xlsx file to write")] = Path(
        "scheme.xlsx"),
) -> None:
    """Write the scheme as a documented XLSX template (settings, indicators, items, instructions)."""
    from evaluator.scheme.spreadsheet import write_template

    loaded = _load_or_exit(scheme, 1) if scheme is not None else None
    if xlsx.suffix.lower() != ".xlsx":
        fail(f"{xlsx}: the template is an .xlsx file; give a name ending in .xlsx")
    if not xlsx.parent.is_dir():
        fail(f"{xlsx.parent}: no such folder; create it first")
    write_template(loaded.scheme if loaded else None, xlsx)
    what = f"scheme '{loaded.scheme.id}'" if loaded else "a blank scheme template"
    console.print(f"[green]✓[/] wrote {xlsx}: {what}; fill the white cells, then "
                  f"`evaluator scheme import {xlsx} --out SCHEME.yaml`")


@scheme_app.command("import")
def import_xlsx(
    file: Annotated[Path, typer.Argument(help="a filled scheme template (.xlsx)")],
    out: Annotated[Path, typer.Option("--out", help="the scheme YAML file to write")],
    lang: LangOpt = Lang.en,
) -> None:
    """Read a filled template back into a scheme YAML file, linted (exit 0); or list every error
    with its sheet, row and column and write nothing (exit 1)."""
    from evaluator.lint import lint_scheme
    from evaluator.scheme import SchemeInvalid
    from evaluator.scheme.dump import dump_scheme
    from evaluator.scheme.loader import load_scheme_text
    from evaluator.scheme.spreadsheet_import import SpreadsheetInvalid, read_scheme_workbook

    try:
        scheme = read_scheme_workbook(file)
    except SpreadsheetInvalid as exc:
        print_issues([f"{file}: {issue}" for issue in exc.issues], f"{file}; nothing written")
        raise typer.Exit(1) from None
    text = dump_scheme(scheme, header=f"Imported from {file.name} with `evaluator scheme import`.")
    try:
        loaded = load_scheme_text(text, out)  # the same validation as any scheme file
    except SchemeInvalid as exc:  # a bug if reached: the workbook passed the same checks
        fail(f"the imported scheme does not validate: {exc}; nothing written")
    if not out.parent.is_dir():
        fail(f"{out.parent}: no such folder; create it first; nothing written")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    s = loaded.scheme
    console.print(f"[green]✓[/] wrote {out}: scheme '{s.id}' v{s.version}, "
                  f"{len(s.indicators())} indicators in {len(s.all_dimensions())} dimensions")
    _print_report(lint_scheme(loaded), lang.value)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(lint)
    app.command()(weights)
    app.add_typer(scheme_app, name="scheme")
