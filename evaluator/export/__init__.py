"""Year-end exports of a stored run: XLSX/CSV/Parquet tables, report cards, leadership summary."""

from evaluator.export.run import FORMATS, ExportResult, Progress, export_run
from evaluator.export.runinfo import ExportError, RunInfo, resolve_run

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "Progress",
    "RunInfo",
    "export_run",
    "resolve_run",
]
