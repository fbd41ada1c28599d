"""Overlap and burden across schemes: what the offices ask twice, and what one form saves.

Every figure is computed from the schemes (and the registry) with the linter's definitions:

* before — each scheme collects its own: per scheme, `fields` = Σ reports per year of its
  indicators (the linter's `reports_per_unit_year`), `hours` = Σ burden_minutes × reports per
  year / 60 (the linter's `burden_hours_per_unit_year`), `forms` = the reports per year of its
  most frequent indicator (everything else rides on those rounds);
* after — one form per year (scores are yearly) asking each unit-reported measure once:
  `fields` = the form's fields, `hours` = Σ their minutes / 60 (registry `minutes`, else the
  largest burden_minutes declared for it); measures read from existing systems cost nothing.
  Survey indicators are not on the form: their declared burden is carried over unchanged.

Repeated requests come from `evaluator.lint.requests`, the function the linter and the Scheme
health page use. Indicators reported more often than once a year are listed as excess frequency:
scoring uses one value per year (the annual figure when given, else the roll-up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluator.forms.plan import (
    FormField,
    applicable,
    form_fields,
    measure_requests,
    unit_reported,
)
from evaluator.lint.base import LintContext
from evaluator.lint.requests import RepeatedRequest, repeated_requests
from evaluator.scheme.measures import LikelyDuplicate, LoadedRegistry
from evaluator.scheme.models import MeasureSource, Scheme


@dataclass(frozen=True)
class SchemeBurden:
    """What one scheme costs a unit per year when it collects its own data."""

    scheme_id: str
    forms: int
    fields: int
    hours: float


@dataclass(frozen=True)
class Burden:
    """Reporting burden per unit per year for one unit type, before and after one form."""

    unit_type: str
    units: int | None
    schemes: list[SchemeBurden]
    after_forms: int
    after_fields: int
    after_hours: float

    @property
    def before_forms(self) -> int:
        return sum(s.forms for s in self.schemes)

    @property
    def before_fields(self) -> int:
        return sum(s.fields for s in self.schemes)

    @property
    def before_hours(self) -> float:
        return sum(s.hours for s in self.schemes)


@dataclass(frozen=True)
class ExcessFrequency:
    """An indicator reported more often than scoring uses it (once a year)."""

    scheme_id: str
    indicator_id: str
    item: str
    frequency: str
    reports: int
    excess: int


@dataclass(frozen=True)
class MeasureLine:
    """One measure across all schemes: who asks, how often, and what one form asks instead."""

    measure: str
    name_zh: str
    name_en: str
    origin: str  # unit | system | unregistered
    schemes: list[str]
    requests: int
    reports_before: int
    hours_before: float
    reports_after: int
    hours_after: float


@dataclass
class OverlapReport:
    schemes: list[dict[str, str]]
    repeated: list[RepeatedRequest]
    likely_duplicates: list[LikelyDuplicate]
    excess: list[ExcessFrequency]
    burden: list[Burden]
    measures: list[MeasureLine]
    unregistered: list[str] = field(default_factory=list)
    registry: str | None = None

    @property
    def shared(self) -> list[RepeatedRequest]:
        """Items asked by more than one scheme."""
        return [r for r in self.repeated if len(r.scheme_ids) > 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemes": self.schemes,
            "registry": self.registry,
            "repeated_requests": [
                {"kind": r.kind, "item": r.item, "schemes": r.scheme_ids,
                 "indicators": [f"{q.scheme_id}/{q.indicator_id}" for q in r.requests]}
                for r in self.repeated
            ],
            "likely_duplicates": [asdict(d) for d in self.likely_duplicates],
            "excess_frequency": [asdict(e) for e in self.excess],
            "burden": [
                {"unit_type": b.unit_type, "units": b.units,
                 "before": {"forms": b.before_forms, "fields": b.before_fields,
                            "hours": round(b.before_hours, 6),
                            "by_scheme": [asdict(s) | {"hours": round(s.hours, 6)}
                                          for s in b.schemes]},
                 "after": {"forms": b.after_forms, "fields": b.after_fields,
                           "hours": round(b.after_hours, 6)}}
                for b in self.burden
            ],
            "measures": [asdict(m) for m in self.measures],
            "unregistered": self.unregistered,
        }


def scheme_burden(scheme: Scheme) -> SchemeBurden:
    """The scheme's own collection cost per unit per year (the linter's reports and hours)."""
    inds = scheme.indicators()
    reports = [LintContext.reports_per_year(i) for i in inds]
    return SchemeBurden(scheme.id, max(reports, default=0), sum(reports),
                        sum(i.burden_hours() for i in inds))


def burden_for(schemes: Sequence[Scheme], registry: LoadedRegistry | None, unit_type: str,
               units: int | None = None) -> Burden:
    """Before/after burden of one unit type (see the module docstring for the definitions)."""
    mine = applicable(schemes, unit_type)
    fields = form_fields(mine, registry, unit_type)
    surveys = [i for s in mine for i in s.indicators() if not isinstance(i.source, MeasureSource)]
    survey_fields = sum(LintContext.reports_per_year(i) for i in surveys)
    return Burden(
        unit_type=unit_type,
        units=units,
        schemes=[scheme_burden(s) for s in mine],
        after_forms=1 if fields or survey_fields else 0,
        after_fields=len(fields) + survey_fields,
        after_hours=sum(f.minutes for f in fields) / 60 + sum(i.burden_hours() for i in surveys),
    )


def overlap_report(schemes: Sequence[Scheme], registry: LoadedRegistry | None = None,
                   units: Mapping[str, int] | None = None) -> OverlapReport:
    """The whole report over `schemes`; `units` (unit type → count) adds totals per type."""
    unit_types = list(dict.fromkeys(t for s in schemes for t in s.unit_types))
    lines = []
    for m, (info, reqs) in measure_requests(schemes, registry).items():
        asked = unit_reported(info, reqs)
        first = reqs[0].indicator
        minutes = FormField(m, info, reqs).minutes
        lines.append(MeasureLine(
            measure=m,
            name_zh=info.name.zh if info else first.name.zh,
            name_en=info.name.en if info else first.name.en,
            origin=info.origin.value if info else "unregistered",
            schemes=list(dict.fromkeys(r.scheme_id for r in reqs)),
            requests=len(reqs),
            reports_before=sum(LintContext.reports_per_year(r.indicator) for r in reqs),
            hours_before=round(sum(r.indicator.burden_hours() for r in reqs), 6),
            reports_after=1 if asked else 0,
            hours_after=round(minutes / 60 if asked else 0.0, 6),
        ))
    excess = [
        ExcessFrequency(s.id, i.id, getattr(i.source, "measure", None)
                        or ", ".join(getattr(i.source, "questions", [])),
                        i.frequency.value, n, n - 1)
        for s in schemes for i in s.indicators()
        if (n := LintContext.reports_per_year(i)) > 1
    ]
    return OverlapReport(
        schemes=[{"id": s.id, "name_zh": s.name.zh, "name_en": s.name.en} for s in schemes],
        repeated=repeated_requests(schemes),
        likely_duplicates=registry.likely_duplicates() if registry else [],
        excess=excess,
        burden=[burden_for(schemes, registry, t, (units or {}).get(t)) for t in unit_types],
        measures=lines,
        unregistered=[ln.measure for ln in lines if ln.origin == "unregistered"] if registry else [],
        registry=str(registry.path) if registry else None,
    )
