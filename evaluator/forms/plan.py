"""What one collection form asks (一表报送): each unit-reported measure the schemes need, once.

A measure goes on the form of a unit type when a scheme applying to that type reads it and the
unit has to report it: the registry says `origin: unit`, or the measure is not registered and
some indicator reading it declares reporting work (`burden_minutes` other than 0). Measures read
from existing systems never reach a form, and a form for a quarter or a month asks only the
measures given at least that often (the registry's `period`, else the indicators' frequency).
Fields follow the order of first request (schemes in the order given, indicators in file order),
so the same inputs always give the same form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluator.lint.requests import DataRequest, data_requests
from evaluator.scheme.measures import Granularity, LoadedRegistry, Measure, MeasureOrigin
from evaluator.scheme.models import Frequency, Scheme

FINENESS = {Granularity.year: 0, Granularity.quarter: 1, Granularity.month: 2}
FREQUENCY_GRANULARITY = {
    Frequency.annual: Granularity.year, Frequency.quarterly: Granularity.quarter,
    Frequency.monthly: Granularity.month, Frequency.weekly: Granularity.month,
    Frequency.daily: Granularity.month,
}


@dataclass(frozen=True)
class FormField:
    """One measure a unit reports, with the requests (scheme, indicator) it answers."""

    measure: str
    info: Measure | None  # the registry entry, when registered
    requests: tuple[DataRequest, ...]

    @property
    def scheme_ids(self) -> list[str]:
        return list(dict.fromkeys(r.scheme_id for r in self.requests))

    @property
    def minutes(self) -> float:
        """Minutes to report it once: the registry's figure, else the largest burden_minutes
        declared by an indicator reading it (0 when none declares any)."""
        if self.info is not None and self.info.minutes is not None:
            return self.info.minutes
        return max((r.indicator.burden_minutes or 0.0 for r in self.requests), default=0.0)

    @property
    def is_integer(self) -> bool:
        return bool(self.info and self.info.integer)

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return (self.info.min, self.info.max) if self.info is not None else (None, None)


def applicable(schemes: Sequence[Scheme], unit_type: str) -> list[Scheme]:
    """The schemes that score units of `unit_type`."""
    return [s for s in schemes if unit_type in s.unit_types]


def measure_requests(schemes: Sequence[Scheme], registry: LoadedRegistry | None,
                     ) -> dict[str, tuple[Measure | None, tuple[DataRequest, ...]]]:
    """Every measure read by the schemes, with its registry entry and requests, in order."""
    grouped: dict[str, list[DataRequest]] = {}
    for req in data_requests(schemes):
        if req.kind == "measure":
            grouped.setdefault(req.item, []).append(req)
    return {m: (registry.get(m) if registry else None, tuple(reqs)) for m, reqs in grouped.items()}


def unit_reported(info: Measure | None, requests: Sequence[DataRequest]) -> bool:
    """Whether units must report the measure (see the module docstring)."""
    if info is not None:
        return info.origin is MeasureOrigin.unit
    return any(r.indicator.burden_minutes != 0 for r in requests)


def period_granularity(period: str) -> Granularity:
    """2026 → year, 2026Q1 → quarter, 2026-03 → month."""
    return (Granularity.quarter if "Q" in period else Granularity.month if "-" in period
            else Granularity.year)


def collected_per(info: Measure | None, requests: Sequence[DataRequest]) -> Granularity:
    """The finest period the figure is given for: the registry's `period`, else the most
    frequent reporting among the indicators reading it."""
    if info is not None:
        return info.period
    return max((FREQUENCY_GRANULARITY[r.indicator.frequency] for r in requests),
               key=FINENESS.__getitem__, default=Granularity.year)


def form_fields(schemes: Sequence[Scheme], registry: LoadedRegistry | None,
                unit_type: str, period: str | None = None) -> list[FormField]:
    """The fields of the form for `unit_type`: each unit-reported measure once. For a quarter
    or a month, only the measures given at least that often (a year's form asks them all)."""
    found = measure_requests(applicable(schemes, unit_type), registry)
    need = FINENESS[period_granularity(period)] if period else 0
    return [FormField(m, info, reqs) for m, (info, reqs) in found.items()
            if unit_reported(info, reqs) and FINENESS[collected_per(info, reqs)] >= need]
