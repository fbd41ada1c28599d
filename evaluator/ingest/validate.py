"""Row checks as SQL over the staged rows: text → typed values, every problem with row and column.

The reader stages the file as text (`evaluator.ingest.stage`: one row per file row, trimmed,
empty → NULL, its spreadsheet row number and whether the row is blank). Each check here is a
(column, condition, reason) triple of SQL expressions over that table; a row may fail several.
The clean path is one aggregate pass (`count(*) FILTER (any condition)`); only when it finds
problems does the naming query run, one `SELECT … WHERE condition` per check, UNION ALL, into
the (row, column, value, reason) frame of the rejects file. The typed expressions here are also
what the loader inserts, so a value is read the same way when checked and when stored.
Checks needing the whole file (duplicate keys) are in `evaluator.ingest.keys`.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.ingest.kinds import Column, Kind

PERIOD_RE = r"^[0-9]{4}(Q[1-4]|-(0[1-9]|1[0-2]))?$"  # ASCII digits only, not \d
#: the date-time layouts submitted_at may use (DuckDB strptime; %f: up to 6 fraction digits,
#: %n: up to 9), tried in this order
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%n",
    "%Y-%m-%dT%H:%M:%S.%n", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
)
MASKED = {"respondent"}  # never written to a rejects file or printed
#: C0/C1 controls and the line/paragraph separators (RE2 syntax, as DuckDB's regexp functions use)
CONTROL_IN_ID = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"
CONTROL_IN_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # tab and line breaks allowed in names


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def typed(col: Column, src: str | None = None) -> str:
    """The SQL value of contract column `col` from its staged (trimmed) text `src`."""
    s = src or quote(col.name)
    if col.type == "number":  # DuckDB also reads 1_000; a spreadsheet user means no number
        return f"CASE WHEN contains({s}, '_') THEN NULL ELSE TRY_CAST({s} AS DOUBLE) END"
    if col.type == "timestamp":  # the usual layout alone first: the list is ~10× slower
        formats = ", ".join(literal(f) for f in TIMESTAMP_FORMATS)
        return (f"coalesce(try_strptime({s}, {literal(TIMESTAMP_FORMATS[4])}), "
                f"try_strptime({s}, [{formats}]))")
    return s


def year(src: str = '"period"') -> str:
    return f"TRY_CAST(substr({src}, 1, 4) AS INTEGER)"


@dataclass(frozen=True)
class Check:
    column: str
    condition: str  # SQL, true when the row has this problem
    reason: str  # SQL text expression
    pattern: str | None = None  # a regex check: rows are screened by one regex per pattern


def value(col: Column) -> str:
    """How the checks (and the insert) refer to a column: the typed value of a number or
    timestamp (typed once, when staged: `evaluator.ingest.stage`), else the staged text."""
    if col.type in ("number", "timestamp"):
        return f"s.{quote('__v_' + col.name)}"
    return f"s.{quote(col.name)}"


def checks(kind: Kind, present: set[str], *, units: bool, scales: bool) -> list[Check]:
    """Every row check of `kind` on the columns the file has. `units`: check unit ids against
    `current_units`; `scales`: answers against the declared scales (joined as `q`)."""
    out: list[Check] = []
    for c in kind.columns:
        if c.name not in present:
            continue
        raw, val = f"s.{quote(c.name)}", value(c)
        if c.required:
            out.append(Check(c.name, f"{raw} IS NULL", literal("empty value / 空值")))
        if c.type == "id":
            out.append(Check(c.name, f"regexp_matches({raw}, {literal(CONTROL_IN_ID)})", literal(
                "an id must not contain control characters (a NUL byte, tab, line break…): "
                "retype it / 编码中含有控制字符（如空字节、制表符、换行），请重新输入"),
                CONTROL_IN_ID))
        elif c.type == "text":
            out.append(Check(c.name, f"regexp_matches({raw}, {literal(CONTROL_IN_TEXT)})", literal(
                "text must not contain control characters (a NUL byte…) / 文本中含有控制字符"),
                CONTROL_IN_TEXT))
        if c.type == "number":
            out += [
                Check(c.name, f"{raw} IS NOT NULL AND {val} IS NULL", literal("not a number / 不是数值")),
                Check(c.name, f"isnan({val})", literal("NaN is not a value / NaN 不是有效数值")),
                Check(c.name, f"isinf({val})", literal("infinite value / 数值无穷大")),
            ]
            if c.non_negative:
                out.append(Check(c.name, f"{val} < 0", literal("must not be negative / 不能为负数")))
        elif c.type == "period":
            out.append(Check(
                c.name,
                f"{raw} IS NOT NULL AND (NOT regexp_matches({val}, {literal(PERIOD_RE)}) "
                f"OR {year(val)} IS NULL)",
                literal("period must be a year (2026), a quarter (2026Q1) or a month (2026-03) "
                        "/ 期间格式应为 2026、2026Q1 或 2026-03")))
        elif c.type == "timestamp":
            out.append(Check(c.name, f"{raw} IS NOT NULL AND {val} IS NULL", literal(
                "not a date-time; write e.g. 2026-03-01 08:30:00 / 不是有效的日期时间")))
    if kind.needs_units and units and "unit_id" in present:
        out.append(Check(
            "unit_id",
            "s.unit_id IS NOT NULL AND s.unit_id NOT IN (SELECT unit_id FROM current_units)",
            literal("unknown unit id: not in the units table; load it first with --kind units "
                    "/ 单位编码不在单位表中，请先导入单位表")))
    if kind.name == "questions" and {"scale_min", "scale_max"} <= present:
        lo, hi = value(kind.column("scale_min")), value(kind.column("scale_max"))
        out.append(Check("scale_max", f"{hi} <= {lo}", literal(
            "scale_max must be greater than scale_min / 量表最大值须大于最小值")))
    if kind.name == "surveys" and scales and "answer" in present:
        answer = value(kind.column("answer"))
        out.append(Check(
            "answer",
            f"isfinite({answer}) AND ({answer} < q.scale_min OR {answer} > q.scale_max)",
            "'answer outside the question''s declared scale [' || CAST(q.scale_min AS VARCHAR) "
            "|| ', ' || CAST(q.scale_max AS VARCHAR) || '] / 答案超出该题量表范围'"))
    return out


@dataclass(frozen=True)
class RowChecks:
    """The row checks of one file: which table they read and the SQL that runs them."""

    kind: Kind
    present: frozenset[str]
    rows: str  # the staged rows (evaluator.ingest.stage)
    scales: bool
    found: tuple[Check, ...]

    @classmethod
    def of(cls, kind: Kind, present: set[str], rows: str, *, units: bool,
           scales: bool) -> RowChecks:
        return cls(kind, frozenset(present), rows, scales,
                   tuple(checks(kind, present, units=units, scales=scales)))

    def source(self) -> str:
        """The FROM clause: the staged rows `s` and the declared scales `q`."""
        base = f"{self.rows} AS s"
        if self.scales:
            base += (" LEFT JOIN (SELECT question, scale_min, scale_max FROM current_questions)"
                     " AS q ON q.question = s.question")
        return base

    def any(self) -> str:
        """True for a row with at least one problem (a NULL condition is no problem). Regex
        checks of one pattern are screened together, on the row's cells run together."""
        parts: list[str] = []
        by_pattern: dict[str, list[str]] = {}
        for c in self.found:
            if c.pattern is None:
                parts.append(f"coalesce({c.condition}, FALSE)")
            else:
                by_pattern.setdefault(c.pattern, []).append(f"s.{quote(c.column)}")
        for pattern, cols in by_pattern.items():
            parts.append(f"regexp_matches(concat({', '.join(cols)}), {literal(pattern)})")
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def problems(self) -> str:
        """(row, column, value, reason) of every problem, by row then column then check."""
        parts = []
        for i, c in enumerate(self.found):
            shown = ("'***'" if c.column in MASKED else
                     f"regexp_replace(s.{quote(c.column)}, {literal(CONTROL_IN_ID)}, '\ufffd', 'g')")
            parts.append(
                f"SELECT s.__row__ AS row, {literal(c.column)} AS \"column\", {shown} AS value, "
                f"{c.reason} AS reason, {i} AS k FROM {self.source()} "
                f"WHERE NOT s.__blank__ AND coalesce({c.condition}, FALSE)")
        return ("SELECT row, \"column\", value, reason FROM (" + " UNION ALL ".join(parts)
                + ") ORDER BY row, \"column\", k")
