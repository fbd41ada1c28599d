"""Drill-down below a unit's score: a dimension's indicators, an indicator's raw values.

The raw values are the loaded rows the run read (its data batches; the latest batch of each
unit × period × measure, as scoring does), with the batch and the row of the loaded file, so a
reader can find the number in the file the unit sent.
"""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.labels import scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run, require_unit
from evaluator.scheme.models import MeasureSource


def indicator_source(
    con: Con, run_id: str, indicator_id: str, *, viewer: Viewer = OFFICE
) -> dict[str, object]:
    """What an indicator is computed from: `{"kind": "measure", "measure": id, "rollup": …}`,
    `{"kind": "survey", "questions": [...]}`, or `{"kind": "unknown"}` (scheme unreadable)."""
    require_run(con, viewer, run_id)
    scheme = scheme_labels(con, run_id).scheme
    found = next((i for i in scheme.indicators() if i.id == indicator_id), None) if scheme else None
    if found is None:
        return {"kind": "unknown"}
    source = found.source
    if isinstance(source, MeasureSource):
        return {"kind": "measure", "measure": source.measure, "rollup": str(source.rollup.value)}
    return {"kind": "survey", "questions": list(source.questions)}


def indicator_raw_values(
    con: Con, run_id: str, unit_id: str, indicator_id: str, *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The loaded values behind one indicator of one unit in the run's year: period, measure,
    value, batch_id, file and source_row (empty for survey indicators: their inputs are answers,
    summarised on the profile's satisfaction table)."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    source = indicator_source(con, run_id, indicator_id, viewer=viewer)
    schema = {"period": pl.String, "measure": pl.String, "value": pl.Float64,
              "batch_id": pl.Int32, "file": pl.String, "source_row": pl.Int64}
    if source["kind"] != "measure":
        return pl.DataFrame(schema=schema)
    return _df(
        con,
        """
        WITH run AS (SELECT batch_ids, period FROM runs WHERE run_id = $run),
        seen AS (
            SELECT o.*, row_number() OVER (PARTITION BY o.unit_id, o.period, o.measure
                                           ORDER BY o.batch_id DESC) AS rn
            FROM outcomes o, run
            WHERE o.unit_id = $unit AND o.measure = $measure
              AND o.year = TRY_CAST(left(run.period, 4) AS INTEGER)
              AND (run.batch_ids IS NULL OR list_contains(run.batch_ids, o.batch_id)))
        SELECT s.period, s.measure, s.value, s.batch_id::INTEGER AS batch_id,
               b.file_name AS file, s.source_row
        FROM seen s LEFT JOIN load_batches b ON b.batch_id = s.batch_id
        WHERE s.rn = 1 ORDER BY s.period
        """,
        {"run": run_id, "unit": unit_id, "measure": source["measure"]},
    ).cast(schema)  # type: ignore[arg-type]
