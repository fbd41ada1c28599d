"""The one definition of "the same data asked for twice" (一表报送、多方共享).

A data request is one indicator reading one item: a measure of the outcomes table or one survey
question. An item requested by more than one indicator (in one scheme, or across the schemes of
several offices) is a repeated request. The linter, the dashboard's Scheme health page and the
forms' overlap report all call `repeated_requests`, so they always agree. It depends only on the
scheme models: nothing of the read side or the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from evaluator.scheme.models import Indicator, MeasureSource, Scheme

ItemKind = Literal["measure", "question"]


@dataclass(frozen=True)
class DataRequest:
    """One indicator of one scheme asking for one measure or one survey question."""

    scheme_id: str
    indicator: Indicator
    kind: ItemKind
    item: str

    @property
    def indicator_id(self) -> str:
        return self.indicator.id


@dataclass(frozen=True)
class RepeatedRequest:
    """An item asked for by several indicators; `requests` in scheme and file order."""

    kind: ItemKind
    item: str
    requests: tuple[DataRequest, ...]

    @property
    def first(self) -> DataRequest:
        return self.requests[0]

    @property
    def scheme_ids(self) -> list[str]:
        """Distinct schemes asking for the item, in the order given."""
        return list(dict.fromkeys(r.scheme_id for r in self.requests))


def data_requests(schemes: Sequence[Scheme]) -> list[DataRequest]:
    """Every (scheme, indicator, item) request, schemes in the order given, indicators in file
    order, questions in the order listed."""
    out: list[DataRequest] = []
    for scheme in schemes:
        for ind in scheme.indicators():
            src = ind.source
            if isinstance(src, MeasureSource):
                out.append(DataRequest(scheme.id, ind, "measure", src.measure))
            else:
                out.extend(DataRequest(scheme.id, ind, "question", q)
                           for q in dict.fromkeys(src.questions))
    return out


def repeated_requests(schemes: Sequence[Scheme]) -> list[RepeatedRequest]:
    """Items (measures, survey questions) requested by more than one indicator across `schemes`,
    in order of first request. One scheme: the duplicates within it."""
    by_item: dict[tuple[ItemKind, str], list[DataRequest]] = {}
    for req in data_requests(schemes):
        by_item.setdefault((req.kind, req.item), []).append(req)
    return [RepeatedRequest(kind, item, tuple(reqs))
            for (kind, item), reqs in by_item.items() if len(reqs) > 1]
