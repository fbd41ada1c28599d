"""`evaluator forms`: one collection form per unit asking each figure once, and the overlap and
burden report across the schemes (一表报送、多方共享)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from evaluator.cli.common import Lang, console, err_console, fail, print_issues
from evaluator.defaults import DEFAULT_DB

if TYPE_CHECKING:
    from evaluator.forms.report import OverlapReport


class Per(StrEnum):
    unit = "unit"
    unit_type = "unit_type"


def forms(
    schemes: Annotated[list[Path], typer.Option(
        "--schemes", help="scheme YAML files: --schemes S1 S2 … (or --schemes repeated)")],
    period: Annotated[str, typer.Option("--period", help="period the forms ask for, e.g. 2026")],
    out: Annotated[Path, typer.Option("--out", help="folder for the XLSX forms")],
    more: Annotated[list[Path] | None, typer.Argument(
        help="more scheme files after the first --schemes value", show_default=False)] = None,
    db: Annotated[Path, typer.Option("--db", help="DuckDB file holding the units")] = DEFAULT_DB,
    per: Annotated[Per, typer.Option(
        "--per", help="unit: one form per unit; unit_type: one per unit type, a row per unit")
    ] = Per.unit,
    report: Annotated[bool, typer.Option(
        "--report", help="also print the overlap and burden report and write "
        "OUT/forms_report.json")] = False,
    registry: Annotated[Path | None, typer.Option(
        "--registry", help="measure registry (default: measures.yaml beside the first scheme)")
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="language of the report: en or zh")] = Lang.en,
) -> None:
    """Collection forms asking each unit-reported measure once across schemes (一表报送)."""
    from evaluator.forms.build import build_forms
    from evaluator.forms.report import overlap_report
    from evaluator.scheme import SchemeInvalid, load_scheme
    from evaluator.scheme.measures import find_registry, load_registry
    from evaluator.store import connect

    paths = [*schemes, *(more or [])]
    loaded, bad = [], 0
    for path in paths:
        try:
            loaded.append(load_scheme(path))
        except SchemeInvalid as exc:
            bad += 1
            print_issues(exc.issues)
    if bad:
        fail(f"{bad} scheme file(s) invalid: fix them (evaluator validate FILE) and run again")
    ids = [ld.scheme.id for ld in loaded]
    if len(set(ids)) < len(ids):
        fail(f"the same scheme is given twice ({', '.join(ids)}): give each scheme once")
    found = find_registry(paths[0], registry)
    reg = None
    if found is not None:
        try:
            reg = load_registry(found)
        except SchemeInvalid as exc:
            fail(f"measure registry {found} is invalid:\n" + "\n".join(map(str, exc.issues)))
    con = connect(db, read_only=True)
    try:
        written = build_forms(con, [ld.scheme for ld in loaded], reg, period, out, per.value)
        units = dict(con.execute(
            "SELECT unit_type, count(*) FROM current_units GROUP BY unit_type").fetchall())
    finally:
        con.close()
    zh = lang is Lang.zh
    figures = sum(w.rows for w in written)
    console.print(
        f"[green]✓[/] {len(written)} 份采集表写入 {out}，共 {figures} 项待填数据"
        if zh else f"[green]✓[/] {len(written)} form(s) written to {out}, {figures} figure(s) to fill")
    for w in written[:5]:
        console.print(f"  {w.path.name}: {w.units} unit(s) × {w.fields} figure(s)")
    if len(written) > 5:
        console.print(f"  … {len(written) - 5} more")
    if reg is None:
        err_console.print("[yellow]warning:[/] no measure registry (measures.yaml beside the "
                          "scheme, or --registry): every measure is taken as reported by the "
                          "units / 未找到数据目录，所有数据项均按单位填报处理")
    if report:
        rep = overlap_report([ld.scheme for ld in loaded], reg, units)
        (out / "forms_report.json").write_text(
            json.dumps(rep.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        print_report(rep, zh)


def print_report(rep: OverlapReport, zh: bool) -> None:
    """The overlap and burden report as console tables."""
    t = (lambda a, b: a) if zh else (lambda a, b: b)  # noqa: E731
    for b in rep.burden:
        table = Table(title=t(f"报送负担（每单位每年，{b.unit_type}）",
                              f"reporting burden per unit per year ({b.unit_type})"))
        for col in (t("方案", "scheme"), t("表", "forms"), t("填报项", "fields"), t("小时", "hours")):
            table.add_column(col, justify="left" if col in ("方案", "scheme") else "right")
        for s in b.schemes:
            table.add_row(s.scheme_id, str(s.forms), str(s.fields), f"{s.hours:.1f}")
        table.add_row(t("[bold]各自采集合计[/]", "[bold]before: each its own[/]"),
                      str(b.before_forms), str(b.before_fields), f"{b.before_hours:.1f}")
        table.add_row(t("[bold]一表报送[/]", "[bold]after: one form[/]"),
                      str(b.after_forms), str(b.after_fields), f"{b.after_hours:.1f}")
        console.print(table)
        if b.units:
            saved = (b.before_hours - b.after_hours) * b.units
            console.print(t(f"{b.units} 个单位每年共节省 {saved:.0f} 小时",
                            f"{b.units} units save {saved:.0f} hours a year in all"))
    shared = Table(title=t("多个指标索取的同一数据", "data requested more than once"))
    for col in (t("数据", "item"), t("方案", "schemes"), t("指标", "indicators")):
        shared.add_column(col, overflow="fold")
    for r in rep.repeated:
        item = r.item if r.kind == "measure" else t("问卷题目 ", "question ") + r.item
        shared.add_row(item, ", ".join(r.scheme_ids),
                       ", ".join(f"{q.scheme_id}/{q.indicator_id}" for q in r.requests))
    console.print(shared if rep.repeated else t("没有重复索取的数据", "no data is requested twice"))
    if rep.likely_duplicates:
        console.print(t("[yellow]疑似重复登记的数据项（定义几乎相同）：[/]",
                        "[yellow]likely duplicate measures (near-identical definitions):[/]"))
        for d in rep.likely_duplicates:
            console.print(f"  {d.first} ≈ {d.second} ({d.ratio:.0%})")
    if rep.excess:
        ex = Table(title=t("报送频次高于计分所需（计分每年只用一个值）",
                           "reported more often than scoring uses (one value a year)"))
        for col in (t("方案", "scheme"), t("指标", "indicator"), t("频次", "frequency"),
                    t("年报送次数", "reports/year"), t("多余", "excess")):
            ex.add_column(col)
        for e in rep.excess:
            ex.add_row(e.scheme_id, e.indicator_id, e.frequency, str(e.reports), str(e.excess))
        console.print(ex)
    if rep.unregistered:
        console.print(t("[yellow]未登记的数据项：[/]", "[yellow]measures not in the registry:[/]")
                      + " " + ", ".join(rep.unregistered))


def register(app: typer.Typer) -> None:
    app.command()(forms)
