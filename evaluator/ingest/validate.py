"""Row checks as polars expressions: text → typed values, and every problem with row and column.

Each check is a (column, condition, reason) triple evaluated on a whole batch at once; a row may
fail several. Problems are returned as a frame (row, column, value, reason); the typed frame is
what gets inserted. Checks needing the whole file (duplicate keys) run in SQL after the insert.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.ingest.kinds import Kind
from evaluator.ingest.readers import ROW

PERIOD_RE = r"^[0-9]{4}(Q[1-4]|-(0[1-9]|1[0-2]))?$"  # ASCII digits only, not \d
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
)
PROBLEM_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}
MASKED = {"respondent"}  # never written to a rejects file or printed
CONTROL_IN_ID = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"  # C0/C1 controls, line/paragraph separators
CONTROL_IN_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # tab and line breaks allowed in names


@dataclass(frozen=True)
class Context:
    """What the database already knows that rows are checked against."""

    units: pl.Series | None  # current unit ids; None = do not check
    scales: pl.DataFrame | None  # question, scale_min, scale_max


def _text(col: str) -> pl.Expr:
    stripped = pl.col(col).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _timestamp(text: pl.Series) -> pl.Series:
    """The first of TIMESTAMP_FORMATS that parses each value. The first format is tried on
    every row, the others only on the rows it failed (parsing all rows nine times was a
    quarter of survey ingest)."""
    out = text.str.to_datetime(TIMESTAMP_FORMATS[0], strict=False, time_unit="us")
    todo = out.is_null() & text.is_not_null()
    if not todo.any():
        return out
    rest = text.filter(todo)
    parsed = pl.select(pl.coalesce(
        [rest.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in TIMESTAMP_FORMATS[1:]]
    )).to_series()
    return out.scatter(todo.arg_true(), parsed)


def typed_frame(raw: pl.DataFrame, kind: Kind) -> pl.DataFrame:
    """Text columns trimmed (empty → null), numbers and timestamps parsed, `year` from period."""
    exprs: list[pl.Expr] = [pl.col(ROW)]
    for c in kind.columns:
        if c.name not in raw.columns:
            exprs.append(pl.lit(None, dtype=pl.Float64 if c.type == "number" else pl.String)
                         .alias(c.name))
            continue
        text = _text(c.name)
        if c.type == "number":
            text = text.cast(pl.Float64, strict=False)
        exprs.append(text.alias(c.name))
    df = raw.select(exprs)
    stamps = [c.name for c in kind.columns if c.type == "timestamp"]
    if stamps:
        df = df.with_columns(_timestamp(df.get_column(s)).alias(s) for s in stamps)
    if kind.has_period:
        df = df.with_columns(pl.col("period").str.slice(0, 4).cast(pl.Int32, strict=False)
                             .alias("year"))
    return df


def problems_frame(
    raw: pl.DataFrame, typed: pl.DataFrame, kind: Kind, ctx: Context
) -> pl.DataFrame:
    """Every (row, column, value, reason) wrong in this batch; empty when the batch is clean."""
    both = typed.hstack(raw.select(_text(c).alias(f"__raw_{c}") for c in raw.columns if c != ROW))
    checks: list[tuple[str, pl.Expr, str]] = []
    for c in kind.columns:
        if c.name not in raw.columns:
            continue
        raw_v, val = pl.col(f"__raw_{c.name}"), pl.col(c.name)
        if c.required:
            checks.append((c.name, raw_v.is_null(), "empty value / 空值"))
        if c.type == "id":
            checks.append((
                c.name, pl.col(c.name).str.contains(CONTROL_IN_ID),
                "an id must not contain control characters (a NUL byte, tab, line break…): "
                "retype it / 编码中含有控制字符（如空字节、制表符、换行），请重新输入",
            ))
        elif c.type == "text":
            checks.append((
                c.name, pl.col(c.name).str.contains(CONTROL_IN_TEXT),
                "text must not contain control characters (a NUL byte…) / 文本中含有控制字符",
            ))
        if c.type == "number":
            checks += [
                (c.name, raw_v.is_not_null() & val.is_null(), "not a number / 不是数值"),
                (c.name, val.is_nan(), "NaN is not a value / NaN 不是有效数值"),
                (c.name, val.is_infinite(), "infinite value / 数值无穷大"),
            ]
            if c.non_negative:
                checks.append((c.name, val < 0, "must not be negative / 不能为负数"))
        elif c.type == "period":
            checks.append((
                c.name,
                raw_v.is_not_null()
                & (~raw_v.str.contains(PERIOD_RE) | pl.col("year").is_null()),
                "period must be a year (2026), a quarter (2026Q1) or a month (2026-03) "
                "/ 期间格式应为 2026、2026Q1 或 2026-03",
            ))
        elif c.type == "timestamp":
            checks.append((
                c.name, raw_v.is_not_null() & val.is_null(),
                "not a date-time; write e.g. 2026-03-01 08:30:00 / 不是有效的日期时间",
            ))
    if kind.needs_units and ctx.units is not None and "unit_id" in raw.columns:
        checks.append((
            "unit_id",
            pl.col("unit_id").is_not_null() & ~pl.col("unit_id").is_in(ctx.units.implode()),
            "unknown unit id: not in the units table; load it first with --kind units "
            "/ 单位编码不在单位表中，请先导入单位表",
        ))
    if kind.name == "questions" and {"scale_min", "scale_max"} <= set(raw.columns):
        checks.append((
            "scale_max", pl.col("scale_max") <= pl.col("scale_min"),
            "scale_max must be greater than scale_min / 量表最大值须大于最小值",
        ))
    if kind.name == "surveys" and ctx.scales is not None and ctx.scales.height:
        both = both.join(ctx.scales, on="question", how="left")
        checks.append((
            "answer",
            pl.col("answer").is_finite()
            & ((pl.col("answer") < pl.col("scale_min")) | (pl.col("answer") > pl.col("scale_max"))),
            "answer outside the question's declared scale / 答案超出该题量表范围",
        ))
    if not checks:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    # one pass over the batch finds the rows with any problem (usually none); the per-check
    # filters that name each problem then run on those few rows only
    bad = both.filter(pl.any_horizontal([cond.fill_null(False) for _, cond, _ in checks]))
    if not bad.height:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    frames = [
        bad.filter(cond).select(
            pl.col(ROW).alias("row"),
            pl.lit(col).alias("column"),
            (pl.lit("***") if col in MASKED
             else pl.col(f"__raw_{col}").str.replace_all(CONTROL_IN_ID, "\ufffd")).alias("value"),
            _reason(col, reason, kind, bad),
        )
        for col, cond, reason in checks
    ]
    return pl.concat(frames).cast(PROBLEM_SCHEMA).sort("row", "column")  # type: ignore[arg-type]


def _reason(col: str, reason: str, kind: Kind, frame: pl.DataFrame) -> pl.Expr:
    if col == "answer" and "scale_min" in frame.columns:
        return pl.format(
            "answer outside the question's declared scale [{}, {}] / 答案超出该题量表范围",
            pl.col("scale_min"), pl.col("scale_max"),
        ).alias("reason")
    return pl.lit(reason).alias("reason")
