"""The input kinds of CONTRACT.md: their columns, types, keys and the table each loads into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evaluator.ingest.errors import IngestError

ColumnType = Literal["id", "text", "number", "period", "timestamp"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = True
    non_negative: bool = False


@dataclass(frozen=True)
class Kind:
    """One input kind. `key` columns must be unique within a file; `needs_units` checks unit ids."""

    name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    needs_units: bool = True
    allow_empty: bool = False
    sheet: str | None = None  # the spreadsheet sheet to read (default: the first)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def has_period(self) -> bool:
        return any(c.type == "period" for c in self.columns)


def _c(name: str, type_: ColumnType, required: bool = True, non_negative: bool = False) -> Column:
    return Column(name, type_, required, non_negative)


KINDS: dict[str, Kind] = {
    "units": Kind(
        "units",
        "units",
        (
            _c("unit_id", "id"),
            _c("name", "text"),
            _c("unit_type", "id"),
            _c("peer_group", "id", False),
            _c("parent_id", "id", False),
            _c("population", "number", False, non_negative=True),
        ),
        key=("unit_id",),
        needs_units=False,
    ),
    "outcomes": Kind(
        "outcomes",
        "outcomes",
        (_c("unit_id", "id"), _c("period", "period"), _c("measure", "id"), _c("value", "number")),
        key=("unit_id", "period", "measure"),
    ),
    "surveys": Kind(
        "surveys",
        "survey_responses",
        (
            _c("response_id", "id"),
            _c("unit_id", "id"),
            _c("period", "period"),
            _c("question", "id"),
            _c("answer", "number"),
            _c("respondent", "id", False),
            _c("weight", "number", False, non_negative=True),
            _c("duration_s", "number", False, non_negative=True),
            _c("channel", "text", False),
            _c("submitted_at", "timestamp", False),
        ),
        key=("response_id", "question"),
    ),
    # a filled collection form (`evaluator forms`): outcomes read from its sheet `form`
    "form": Kind(
        "form",
        "outcomes",
        (_c("unit_id", "id"), _c("period", "period"), _c("measure", "id"), _c("value", "number")),
        key=("unit_id", "period", "measure"),
        sheet="form",
    ),
    "targets": Kind(
        "targets",
        "targets",
        (_c("unit_id", "id"), _c("period", "period"), _c("measure", "id"), _c("target", "number")),
        key=("unit_id", "period", "measure"),
    ),
    "events": Kind(
        "events",
        "events",
        (
            _c("unit_id", "id"),
            _c("period", "period"),
            _c("event", "id"),
            _c("value", "number", False),
            _c("note", "text", False),
        ),
        allow_empty=True,  # "no events this period" is a legitimate file
    ),
    "questions": Kind(
        "questions",
        "questions",
        (
            _c("question", "id"),
            _c("scale_min", "number"),
            _c("scale_max", "number"),
            _c("text_zh", "text", False),
            _c("text_en", "text", False),
        ),
        key=("question",),
        needs_units=False,
    ),
}


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise IngestError(
            f"unknown kind {name!r} / 未知数据类型: use one of {', '.join(KINDS)}"
        ) from None
