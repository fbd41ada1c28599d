"""Column headers, sheet names and yes/no of the exports, from the label catalogue.

Headers default to the stable English ids (programs read them); `lang="zh"` gives the field's
Chinese name from `evaluator.labels`. A column the catalogue does not name keeps its id, so a new
column is never lost, only untranslated.
"""

from __future__ import annotations

import polars as pl

from evaluator.labels import Group, boolean, label, pair

# A header that means something else in one table than elsewhere: (table, column) -> field key.
TABLE_FIELDS: dict[tuple[str, str], str] = {
    ("flags", "evidence"): "evidence_text",  # the numbers behind the flag, not an evidence class
    ("lint", "rule"): "lint_rule",  # the lint rule id, not a scoring rule
    ("lint", "rule_name"): "lint_rule_name",
    ("reference_values", "name"): "reference",  # min, max, median… of an indicator
    ("breakdown", "flags"): "value_flags",  # what happened to the value, not the unit's flags
}


def header(column: str, lang: str, table: str | None = None) -> str:
    """Column header in the export language (English id by default) for a column of `table`."""
    if lang != "zh":
        return column
    key = TABLE_FIELDS.get((table or "", column), column)
    return label(Group.field, key, "zh") if pair(Group.field, key) else column


def sheet_name(table: str, lang: str, part: int = 1) -> str:
    """The sheet (or file stem) of an exported table: its id in English, its name in Chinese;
    `part` > 1 numbers the continuation sheets of a table longer than Excel's limit."""
    name = label(Group.sheet, table, "zh") if lang == "zh" else table
    return name if part == 1 else f"{name}_{part}"


def for_people(batch: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Yes/no in the export language for the formats people open (XLSX, CSV): Chinese exports
    show 是/否, never TRUE/FALSE. Parquet keeps real booleans."""
    if lang != "zh":
        return batch
    yes, no = boolean(True, "zh"), boolean(False, "zh")
    return batch.with_columns(
        pl.when(pl.col(c)).then(pl.lit(yes)).when(pl.col(c).not_()).then(pl.lit(no)).alias(c)
        for c, t in batch.schema.items()
        if t == pl.Boolean
    )
