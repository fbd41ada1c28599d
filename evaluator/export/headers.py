"""Column headers and sheet names of the exports, from the label catalogue.

Headers default to the stable English ids (programs read them); `lang="zh"` gives the field's
Chinese name from `evaluator.labels`. A column the catalogue does not name keeps its id, so a new
column is never lost, only untranslated.
"""

from __future__ import annotations

from evaluator.labels import Group, label, pair

# A header that means something else in one table than elsewhere: (table, column) -> field key.
TABLE_FIELDS: dict[tuple[str, str], str] = {
    ("flags", "evidence"): "evidence_text",  # the numbers behind the flag, not an evidence class
    ("lint", "rule"): "lint_rule",  # the lint rule id, not a scoring rule
    ("lint", "rule_name"): "lint_rule_name",
    ("reference_values", "name"): "key",  # min, max, median… of an indicator, not a unit's name
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
