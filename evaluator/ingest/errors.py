"""What ingestion reports back: a result, a rejection listing the rows at fault, or an unreadable
file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evaluator.errors import EvaluatorError


@dataclass(frozen=True)
class RowProblem:
    """One reason a batch was rejected, at a spreadsheet row (header = row 1) and a column."""

    row: int
    column: str
    reason: str
    value: str | None = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"row {self.row}, column {self.column}: {self.reason}{shown}"


@dataclass(frozen=True)
class IngestResult:
    """A batch that is in the store: just loaded, or found already loaded by checksum."""

    batch_id: int
    rows: int
    status: Literal["loaded", "already_loaded"]
    message: str
    ignored_columns: list[str] = field(default_factory=list)


class IngestError(EvaluatorError):
    """The file cannot be read at all (missing, not a CSV/Parquet/XLSX, corrupt, unknown kind)."""


class IngestRejected(EvaluatorError):
    """The file was read but some rows or columns are invalid; nothing of it was stored.

    `reasons` holds the first problems (row, column, reason); `total` counts all of them and
    `rejects_path` is the CSV that lists every one.
    """

    def __init__(
        self,
        file: Path,
        reasons: list[RowProblem],
        *,
        total: int | None = None,
        rejects_path: Path | None = None,
        batch_id: int | None = None,
    ):
        self.file = file
        self.reasons = reasons
        self.total = len(reasons) if total is None else total
        self.rejects_path = rejects_path
        self.batch_id = batch_id
        first = reasons[0] if reasons else None
        head = f"{file.name}: rejected, {self.total} problem(s) / 已拒绝，共 {self.total} 处问题"
        super().__init__(f"{head}; first: {first}" if first else head)
