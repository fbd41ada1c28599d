"""The unit profile: one unit's breakdown, flags, satisfaction and trend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from evaluator.appeals import FRAME_SCHEMA, file_appeal, list_appeals
from evaluator.appstore import AppStoreError, app_db_path, connect_app
from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.disclosure import (
    blank_line,
    flag_evidence,
    floor_for,
    small_line,
    survey_join,
)
from evaluator.readmodel.labels import (
    _in_scheme_order,
    _with_grade,
    _with_names,
    _with_veto_names,
    scheme_labels,
)
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run, require_unit, run_filter
from evaluator.runs import flag_evidence_sql

# --------------------------------------------------------------------------- unit profile


def unit_summary(
    con: Con, run_id: str, unit_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> dict[str, Any] | None:
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    df = _df(
        con,
        "SELECT *, (SELECT count(*) FROM run_scores x WHERE x.run_id = s.run_id) AS units_scored "
        "FROM run_scores s WHERE run_id = ? AND unit_id = ?",
        [run_id, unit_id],
    )
    if df.is_empty():
        return None
    labels = scheme_labels(con, run_id)
    return _with_veto_names(_with_grade(df, labels, lang), labels, lang).to_dicts()[0]


def unit_indicators(
    con: Con, run_id: str, unit_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The unit's score explained down to the raw data: one row per indicator.

    For non-office roles a satisfaction line resting on fewer than `disclosure.min_responses`
    valid responses has its raw value, score and contribution blanked (`suppressed`, with the
    threshold in `min_responses`)."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    floor = floor_for(con, run_id, viewer)
    df = _df(
        con,
        f"""
        SELECT r.dimension_id, r.indicator_id, r.evidence, r.rule, r.declared_weight, r.weight,
               r.imputed, r.missing_policy, r.flags, {blank_line(floor)},
               {small_line(floor)} AS suppressed, {floor} AS min_responses
        FROM run_indicator_scores r {survey_join()}
        WHERE r.run_id = ? AND r.unit_id = ?
        """,
        [run_id, unit_id],
    ).select(
        "dimension_id", "indicator_id", "evidence", "raw_value", "transformed_value", "rule",
        "score", "declared_weight", "weight", "contribution", "imputed", "missing_policy",
        "flags", "suppressed", "min_responses",
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    df = _with_names(df, labels, "dimension_id", "dimension_name", lang)
    return _in_scheme_order(df, labels, "indicator_id")


def unit_trend(con: Con, run_id: str, unit_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The unit's score, rank and grade in every stored period scored under the same scheme id
    (the latest run of each period, of the runs the viewer may see: a withdrawn run is no point
    of anyone else's trend), with the scheme version of each point and `version_changed` where
    it differs from the point before (scores either side of it are not strictly comparable)."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    return _df(
        con,
        f"""
        WITH latest AS (
            SELECT r.run_id, r.period, r.scheme_version,
                   row_number() OVER (PARTITION BY r.period ORDER BY r.created_at DESC) AS rn
            FROM runs r JOIN runs c ON c.run_id = ? AND r.scheme_id = c.scheme_id
            WHERE {run_filter(viewer)})
        SELECT l.period, l.run_id, s.score, s.rank, s.grade, l.scheme_version,
               coalesce(l.scheme_version IS DISTINCT FROM
                        lag(l.scheme_version) OVER (ORDER BY l.period), FALSE)
                 AND row_number() OVER (ORDER BY l.period) > 1 AS version_changed,
               (SELECT count(*) FROM run_scores x WHERE x.run_id = l.run_id) AS units_scored
        FROM latest l JOIN run_scores s ON s.run_id = l.run_id AND s.unit_id = ?
        WHERE l.rn = 1 ORDER BY l.period
        """,
        [run_id, unit_id],
    )


def unit_satisfaction(
    con: Con, run_id: str, unit_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The unit's satisfaction results; for non-office roles those resting on fewer than
    `disclosure.min_responses` valid responses are blanked (`suppressed`, with the threshold)."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    floor = floor_for(con, run_id, viewer)
    hide = "coalesce(valid, 0) < $floor"
    shown = ", ".join(
        f"CASE WHEN {hide} THEN NULL ELSE {c} END AS {c}"
        for c in ("effective_n", "raw_index", "index_value", "se", "ci_low", "ci_high",
                  "top_box_share", "shrinkage", "excluded_speeder", "excluded_straightline",
                  "excluded_duplicate", "excluded_out_of_scale")
    )
    df = _df(
        con,
        f"""
        SELECT indicator_id, CASE WHEN {hide} THEN NULL ELSE responses END AS responses,
               CASE WHEN {hide} THEN NULL ELSE valid END AS valid, {shown}, small_sample,
               {hide} AS suppressed, $floor AS min_responses
        FROM run_survey_quality WHERE run_id = $run AND unit_id = $unit ORDER BY indicator_id
        """,
        {"run": run_id, "unit": unit_id, "floor": floor},
    )
    return _with_names(df, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)


def survey_exclusions(
    con: Con, run_id: str, unit_id: str | None = None, *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """Survey responses excluded, by reason (summed over satisfaction indicators and units).

    Responses are counted once per unit: the maximum over the unit's indicators, since every
    indicator of a unit filters the same respondents.
    """
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    floor = floor_for(con, run_id, viewer)  # small cells stay out
    return _df(
        con,
        """
        WITH per_unit AS (
            SELECT unit_id,
                   max(excluded_speeder) AS speeder, max(excluded_straightline) AS straightline,
                   max(excluded_duplicate) AS duplicate, max(excluded_out_of_scale) AS out_of_scale
            FROM run_survey_quality WHERE run_id = ? AND (? IS NULL OR unit_id = ?)
              AND coalesce(valid, 0) >= ?
            GROUP BY unit_id)
        SELECT reason, coalesce(sum(n), 0)::BIGINT AS responses
        FROM (UNPIVOT per_unit ON speeder, straightline, duplicate, out_of_scale
              INTO NAME reason VALUE n)
        GROUP BY reason
        ORDER BY list_position(['speeder', 'straightline', 'duplicate', 'out_of_scale'], reason)
        """,
        [run_id, unit_id, unit_id, floor],
    )


def unit_flags(
    con: Con, run_id: str, unit_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The unit's flags, with their evidence text in `lang` (withheld from non-office roles
    where it quotes the unit's small survey cells)."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    floor = floor_for(con, run_id, viewer)
    evidence = flag_evidence(flag_evidence_sql(con, lang, "f"), floor, lang, run="f.run_id")
    return _df(
        con,
        f"""
        SELECT f.flag, {evidence} AS evidence
        FROM run_flags f WHERE f.run_id = $run AND f.unit_id = $unit ORDER BY f.flag
        """,
        {"run": run_id, "unit": unit_id},
    )


def unit_appeals(
    db: str | Path, run_id: str, unit_id: str, *, viewer: Viewer = OFFICE
) -> pl.DataFrame | None:
    """The unit's appeals on the run from the app store beside `db`; None when it cannot be read.

    Takes the DB path, not a connection: appeals live in the app store, not in the snapshot.
    """
    require_unit(viewer, unit_id)
    if not app_db_path(db).exists():
        return pl.DataFrame(schema=FRAME_SCHEMA)  # no appeal was ever filed
    try:
        app = connect_app(db, create=False)
    except AppStoreError:
        return None
    try:
        return list_appeals(app, run_id=run_id, unit_id=unit_id)
    finally:
        app.close()


def file_unit_appeal(
    db: str | Path,
    snapshot: str | Path,
    *,
    viewer: Viewer,
    run_id: str,
    unit_id: str,
    reason: str,
    filed_by: str,
    indicator_id: str | None = None,
    event: str | None = None,
) -> int:
    """File an appeal on one line of a published run (checked against the snapshot); its id.

    Raises AppealError / AppStoreError with a message to show, Forbidden for another unit.
    """
    require_unit(viewer, unit_id)
    data = duckdb.connect(str(snapshot), read_only=True)
    try:
        require_run(data, viewer, run_id)
        app = connect_app(db)
        try:
            return file_appeal(
                data,
                app,
                run_id=run_id,
                unit_id=unit_id,
                reason=reason,
                filed_by=filed_by,
                indicator_id=indicator_id,
                event=event,
            )
        finally:
            app.close()
    finally:
        data.close()
