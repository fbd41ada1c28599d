"""Input layouts beside the long one: wide files, missing-value markers, years written `2018.0`.

A published index is usually one row per unit and one column per measure (UNDP's HDI tables,
COINr's `iData`). `--wide` unpivots such a file (polars `unpivot`, lazily, on the whole file at
once) into the long `unit_id, period, measure, value` rows *before* the normal validation, so a
wide file is checked, stored and audited exactly like a long one. The period comes from a
`period` column, from `--period P` (every value is for P), or with `--period-in-header` from the
headers themselves (`le_2021` is measure `le`, period `2021`). Every other column is a measure,
or only the `--measures` named (the rest is ignored, and reported as such).

`--na NA,NaN` names the cell texts that mean "no value": such a cell, and an empty one, is read
as missing (the row is not loaded for a required number, the cell is empty for an optional one)
instead of being refused. Without `--na` they stay errors, as before.

A period written as a decimal number (`2018.0`, what spreadsheets and pandas write for a year)
is read as the year.

Every problem of a wide file names the file's row and column (header = row 1); nothing of a
refused file is stored (the loader records the attempt only).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from evaluator.ingest.columns import plan_columns
from evaluator.ingest.errors import IngestError, IngestRejected, RowProblem
from evaluator.ingest.kinds import Kind
from evaluator.ingest.readers import ROW, Source
from evaluator.ingest.validate import PERIOD_RE

DECIMAL_YEAR = r"^\s*([0-9]{4})\.0+\s*$"  # 2018.0 → 2018
PERIOD_SUFFIX = re.compile(r"^(.+)_([0-9]{4}(?:Q[1-4]|-(?:0[1-9]|1[0-2]))?)$")
WIDE_KINDS = ("outcomes",)


@dataclass(frozen=True)
class InputShape:
    """How the file is laid out (from the `ingest` flags); the default is the long layout."""

    wide: bool = False
    period: str | None = None  # wide: the period of every value
    period_in_header: bool = False  # wide: headers MEASURE_PERIOD
    measures: tuple[str, ...] = ()  # wide: the measure columns (default: every other column)
    na: tuple[str, ...] | None = None  # cell texts read as missing (and empty cells); None: off

    def check(self, kind: str) -> None:
        """Flags that do not go together, before any file is opened."""
        wide_only = self.period is not None or self.period_in_header or self.measures
        if wide_only and not self.wide:
            raise IngestError("--period, --period-in-header and --measures describe a wide file: "
                              "add --wide / 这些选项用于宽表，请加 --wide")
        if self.wide and kind not in WIDE_KINDS:
            raise IngestError(f"--wide reads outcomes (one column per measure), not {kind} "
                              "/ --wide 仅适用于 outcomes")
        if self.period is not None and self.period_in_header:
            raise IngestError("give --period or --period-in-header, not both / 二者只能选一")
        if self.period is not None and not re.match(PERIOD_RE, self.period):
            raise IngestError(f"--period {self.period!r}: write a year (2026), a quarter (2026Q1) "
                              "or a month (2026-03) / 期间格式应为 2026、2026Q1 或 2026-03")


def reshape_source(source: Source, spec: Kind, column_map: dict[str, str] | None,
                   shape: InputShape | None) -> Source:
    """`source` as the loader expects it: unpivoted when wide, missing markers dropped, decimal
    years made years. Raises IngestRejected naming row and column of every bad cell."""
    shape = shape or InputShape()
    if shape.wide:  # the id columns keep their names, so `column_map` applies to them still
        source = _unpivot(source, spec, column_map, shape)
    try:
        rename = plan_columns(source.headers, spec, column_map).rename
    except IngestError:
        return source  # a bad --map: the loader's own column plan explains it
    frame, notes = source._frame, list(source.notes)
    by_target = {t: h for h, t in rename.items()}
    if spec.has_period and "period" in by_target:
        col = by_target["period"]
        frame = frame.with_columns(pl.col(col).str.replace(DECIMAL_YEAR, "${1}"))
    if shape.na is not None:
        frame, dropped = _drop_missing(frame, spec, by_target, shape.na, source.path)
        if dropped:
            notes.append(f"{dropped} missing value(s) not loaded (--na) "
                         f"/ {dropped} 个缺失值未导入")
    return replace(source, _frame=frame, notes=notes)


def _missing(col: str, tokens: tuple[str, ...]) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    return text.is_null() | (text == "") | text.is_in(list(tokens))


def _drop_missing(frame: pl.LazyFrame, spec: Kind, by_target: dict[str, str],
                  tokens: tuple[str, ...], path: Path) -> tuple[pl.LazyFrame, int]:
    """Rows whose required number is missing go; optional numbers become empty cells."""
    numbers = [c for c in spec.columns if c.type == "number" and c.name in by_target]
    required = [by_target[c.name] for c in numbers if c.required]
    optional = [by_target[c.name] for c in numbers if not c.required]
    if optional:
        frame = frame.with_columns(
            pl.when(_missing(h, tokens)).then(None).otherwise(pl.col(h)).alias(h)
            for h in optional)
    if not required:
        return frame, 0
    gone = pl.any_horizontal(_missing(h, tokens) for h in required)
    counts = frame.select(pl.len().alias("all"), gone.sum().alias("gone")).collect()
    dropped, total = int(counts["gone"][0]), int(counts["all"][0])
    if total and dropped == total:
        raise IngestRejected(path, [RowProblem(2, ", ".join(required), "every value of the "
                                               "file is missing (--na): nothing to load "
                                               "/ 全部数值缺失，没有可导入的数据")])
    return frame.filter(~gone), dropped


def _unpivot(source: Source, spec: Kind, column_map: dict[str, str] | None,
             shape: InputShape) -> Source:
    """One long row per (wide row, measure column), keeping the wide row's number."""
    headers = source.headers
    ids = plan_columns(headers, spec, column_map).rename  # header → unit_id / period / …
    problems = _layout_problems(headers, ids, shape)
    measures = list(shape.measures) or [h for h in headers if h not in ids]
    unknown = [m for m in measures if m not in headers]
    problems += [RowProblem(1, m, "--measures names a column the file does not have" + (
        f"; did you mean {close[0]!r}?" if (close := difflib.get_close_matches(m, headers, 1))
        else "") + " / 文件中没有该列") for m in unknown]
    if not measures or not set(measures) - set(unknown):
        problems.append(RowProblem(1, "(header)", "no measure columns: a wide file has one "
                                   "column per measure beside unit_id (and period) "
                                   "/ 宽表中没有指标列"))
    if shape.period_in_header:
        problems += [RowProblem(1, m, "with --period-in-header a measure column is named "
                                "MEASURE_PERIOD, e.g. le_2021 (name the measure columns with "
                                "--measures to leave other columns out) / 列名应为 指标_期间")
                     for m in measures if m in headers and not PERIOD_SUFFIX.match(m)]
    if problems:
        raise IngestRejected(source.path, problems)
    keep = [h for h in headers if h not in measures]  # ids and ignored columns ride along
    wide = source._frame
    blank = pl.all_horizontal(pl.col(h).is_null() | (pl.col(h).str.strip_chars() == "")
                              for h in headers)
    n_blank = int(wide.filter(blank).select(pl.len()).collect().item())
    long = (wide.filter(~blank)
            .unpivot(on=measures, index=[ROW, *keep], variable_name="measure",
                     value_name="value"))
    bad = _cell_problems(long, shape.na)  # `measure` is still the wide column's header here
    if bad:
        raise IngestRejected(source.path, bad)
    if shape.period_in_header:
        parts = pl.col("measure").str.extract_groups(PERIOD_SUFFIX.pattern)
        long = long.with_columns(measure=parts.struct["1"], period=parts.struct["2"])
    elif shape.period is not None:
        long = long.with_columns(period=pl.lit(shape.period))
    new_headers = [*keep, "measure", "value", *(["period"] if "period" not in ids.values()
                                                else [])]
    long = long.select(ROW, *new_headers).sort(ROW, maintain_order=True)
    notes = [f"wide: {len(measures)} measure column(s) unpivoted / 宽表已转为长表"]
    if n_blank:
        notes.append(f"skipped {n_blank} blank row(s) / 已跳过 {n_blank} 个空行")
    return replace(source, headers=new_headers, _frame=long, exact_rows=False,
                   est_rows=source.est_rows * len(measures), notes=notes)


def _layout_problems(headers: list[str], ids: dict[str, str], shape: InputShape
                     ) -> list[RowProblem]:
    targets = set(ids.values())
    out: list[RowProblem] = []
    if "unit_id" not in targets:
        out.append(RowProblem(1, "unit_id", "a wide file needs a unit_id column (or --map "
                              "COLUMN=unit_id) / 宽表须有 unit_id 列"))
    for clash in sorted(targets & {"measure", "value"}):
        col = next(h for h, t in ids.items() if t == clash)
        out.append(RowProblem(1, col, f"a wide file has one column per measure and no {clash} "
                              "column: drop --wide to load a long file / 宽表不应有该列"))
    has_period = "period" in targets
    if has_period and (shape.period is not None or shape.period_in_header):
        col = next(h for h, t in ids.items() if t == "period")
        out.append(RowProblem(1, col, "the file has a period column: leave out --period and "
                              "--period-in-header / 文件已有期间列"))
    if not has_period and shape.period is None and not shape.period_in_header:
        out.append(RowProblem(1, "period", "a wide file needs a period: a period column, "
                              "--period P, or --period-in-header for headers such as le_2021 "
                              "/ 宽表须给出期间"))
    return out


def _cell_problems(long: pl.LazyFrame, na: tuple[str, ...] | None) -> list[RowProblem]:
    """Measure cells that are not numbers, named by the wide row and column."""
    text = pl.col("value").str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    missing = _missing("value", na) if na is not None else pl.lit(False)
    empty = text.is_null() | (text == "")
    reason = (pl.when(empty).then(pl.lit("empty cell: write a number, or read empty cells as "
                                         "missing with --na / 空单元格"))
              .when(number.is_null()).then(pl.lit("not a number (name missing-value markers "
                                                  "with --na, e.g. --na NA) / 不是数值"))
              .otherwise(pl.lit("NaN or infinite is not a value / 不是有效数值")))
    bad = (long
           .filter(~missing & (empty | number.is_null() | number.is_nan() | number.is_infinite()))
           .select(pl.col(ROW).alias("row"), pl.col("measure"), pl.col("value"), reason
                   .alias("reason"))
           .collect())
    return [RowProblem(int(r["row"]), r["measure"], r["reason"], r["value"])
            for r in bad.iter_rows(named=True)]
