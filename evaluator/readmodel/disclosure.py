"""Small-cell suppression: which satisfaction results a non-office reader may not see.

A satisfaction result resting on fewer than `disclosure.min_responses` valid responses could let
a reader narrow down how a handful of respondents answered. That covers the survey figures
themselves (index, interval, counts) and everything computed from that one cell alone: the
indicator line (raw value = the index, score, contribution), a dimension whose every weighted
indicator is such a cell, and flag evidence quoting survey figures. The office reads with floor
0 (nothing hidden); everyone else with the run's threshold. The dashboard's read layer and every
export build their SQL from these fragments, so the rule is written once.
"""

from __future__ import annotations

from evaluator.labels import Group, label
from evaluator.readmodel._base import INDICATOR_LINES, Con
from evaluator.readmodel.labels import min_responses
from evaluator.readmodel.viewer import Viewer

SURVEY_FLAGS = ("show_off", "survey_stuffing", "small_sample")  # their evidence quotes survey figures
LINE_COLUMNS = ("raw_value", "transformed_value", "score", "contribution")  # of an indicator line


def floor_for(con: Con, run_id: str, viewer: Viewer) -> int:
    """Valid responses a cell needs to be shown to `viewer`: 0 for the office (all shown)."""
    return 0 if viewer.office else min_responses(con, run_id)


def dimension_floor(con: Con, run_id: str, viewer: Viewer) -> int:
    """The floor to hide dimension scores with: `floor_for`, or 0 when no survey cell of the run
    is below it (then no dimension can rest on small cells only, and the walk over every unit ×
    indicator line that finds them, ~1 s at 20,000 units, is skipped)."""
    floor = floor_for(con, run_id, viewer)
    if floor <= 0:
        return 0
    row = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {small_units(floor)})", [run_id]
    ).fetchall()
    return floor if row and row[0][0] else 0


def survey_join(line: str = "r", q: str = "q") -> str:
    """SQL joining each indicator line `line` to its survey row `q` (absent for non-surveys)."""
    return (
        f"LEFT JOIN run_survey_quality {q} ON {q}.run_id = {line}.run_id "
        f"AND {q}.unit_id = {line}.unit_id AND {q}.indicator_id = {line}.indicator_id"
    )


def small_line(floor: int, line: str = "r", q: str = "q") -> str:
    """SQL: the line is a satisfaction result on fewer than `floor` valid responses."""
    return (
        f"({line}.evidence = 'satisfaction' AND {q}.indicator_id IS NOT NULL "
        f"AND coalesce({q}.valid, 0) < {int(floor)})"
    )


def blank_line(floor: int, line: str = "r", q: str = "q") -> str:
    """SQL select-list items: the line's own values, NULL where the cell is small."""
    small = small_line(floor, line, q)
    return ", ".join(
        f"CASE WHEN {small} THEN NULL ELSE {line}.{c} END AS {c}" for c in LINE_COLUMNS
    )


def hidden_dimensions(floor: int, run: str = "?") -> str:
    """SQL relation (unit_id, dimension_id) of dimension scores resting on small cells only:
    every indicator with weight below the dimension, at any depth, is a small satisfaction cell.
    `run` is the SQL for the run id (a parameter placeholder by default). Only units with a
    small cell can have one, so only their lines are read (not every unit × indicator line:
    2.4 M at province, ~1.5 s a page)."""
    if floor <= 0:  # the office: nothing hidden, no tree walk over a large run
        return "(SELECT NULL::VARCHAR AS unit_id, NULL::VARCHAR AS dimension_id WHERE FALSE)"
    return f"""(
        WITH RECURSIVE edges AS (
            SELECT DISTINCT dimension_id, parent_id FROM run_dimension_scores WHERE run_id = {run}),
        tree(dimension_id, ancestor) AS (
            SELECT dimension_id, dimension_id FROM edges
            UNION
            SELECT t.dimension_id, e.parent_id FROM tree t
            JOIN edges e ON e.dimension_id = t.ancestor WHERE e.parent_id IS NOT NULL)
        SELECT r.unit_id, t.ancestor AS dimension_id
        FROM {INDICATOR_LINES} r {survey_join()}
        JOIN tree t ON t.dimension_id = r.dimension_id
        WHERE r.run_id = {run} AND coalesce(r.weight, 0) > 0
          AND r.unit_id IN {small_units(floor, run)}
        GROUP BY ALL HAVING bool_and({small_line(floor)}))"""


def top_dimension_cells(floor: int) -> str:
    """SQL (parameter `$run`): each unit's top-level dimension scores (unit_id, node_id, score,
    suppressed), the score NULL where it rests on small cells only (the league table's and the
    heat map's dimension columns)."""
    return f"""
        SELECT d.unit_id, d.dimension_id AS node_id,
               CASE WHEN h.unit_id IS NULL THEN d.score END AS score,
               h.unit_id IS NOT NULL AS suppressed
        FROM run_dimension_scores d
        LEFT JOIN {hidden_dimensions(floor, "$run")} h
             ON h.unit_id = d.unit_id AND h.dimension_id = d.dimension_id
        WHERE d.run_id = $run AND d.parent_id IS NULL"""


def indicator_cells(floor: int) -> str:
    """SQL (parameter `$run`): each unit's indicator scores (unit_id, node_id, score,
    suppressed), the score NULL on a small satisfaction cell (the heat map's indicator level)."""
    return f"""
        SELECT r.unit_id, r.indicator_id AS node_id,
               CASE WHEN {small_line(floor)} THEN NULL ELSE r.score END AS score,
               {small_line(floor)} AS suppressed
        FROM {INDICATOR_LINES} r {survey_join()}
        WHERE r.run_id = $run"""


def small_units(floor: int, run: str = "?") -> str:
    """SQL relation (unit_id) of units with at least one small satisfaction cell."""
    return (
        f"(SELECT DISTINCT unit_id FROM run_survey_quality WHERE run_id = {run} "
        f"AND coalesce(valid, 0) < {int(floor)})"
    )


def flag_evidence(evidence: str, floor: int, lang: str, flag: str = "f", run: str = "?") -> str:
    """SQL: a flag's evidence text, withheld when it quotes a unit's small survey cells."""
    if floor <= 0:
        return evidence
    withheld = label(Group.value_status, "suppressed_evidence", lang).replace("'", "''")
    flags = ", ".join(f"'{c}'" for c in SURVEY_FLAGS)
    return (
        f"CASE WHEN {flag}.flag IN ({flags}) AND {flag}.unit_id IN {small_units(floor, run)} "
        f"THEN '{withheld}' ELSE {evidence} END"
    )
