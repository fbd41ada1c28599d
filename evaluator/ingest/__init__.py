"""Ingestion: read CSV/Parquet/XLSX, validate every row, load one batch all or nothing.

See docs/ingest.md for the formats, the column mapping and every check that rejects a file.
"""

from evaluator.ingest.errors import IngestError, IngestRejected, IngestResult, RowProblem
from evaluator.ingest.kinds import KINDS
from evaluator.ingest.loader import file_checksum, ingest_file

__all__ = [
    "KINDS",
    "IngestError",
    "IngestRejected",
    "IngestResult",
    "RowProblem",
    "file_checksum",
    "ingest_file",
]
