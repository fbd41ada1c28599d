"""The measure registry (指标数据目录): every measure the office's schemes read, defined once.

One YAML file (by default `measures.yaml` beside the schemes, e.g. `indicators/measures.yaml`)
says for each measure id what it means (zh/en), its unit of measurement, the period a figure is
given for, which department owns the source data, and whether it comes from an existing system
(no burden on the units) or is reported by the units. Collection forms (`evaluator forms`) ask
only for the unit-reported ones; the linter warns about scheme measures missing from it. The file
is validated like a scheme: every error with file:line and key path (the scheme loader's code).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from ruamel.yaml.comments import CommentedMap

from evaluator.scheme.checks import format_path
from evaluator.scheme.loader import (
    SchemeInvalid,
    SchemeIssue,
    _yaml_path,
    line_of,
    parse_yaml,
    read_yaml_file,
)
from evaluator.scheme.messages import message
from evaluator.scheme.models import Id, Strict, Text

REGISTRY_FILE = "measures.yaml"
DUPLICATE_RATIO = 0.9  # definitions at least this similar (difflib ratio) are likely duplicates


class MeasureOrigin(StrEnum):
    """Where the figure comes from: an existing information system, or the unit's own report."""

    system = "system"
    unit = "unit"


class Granularity(StrEnum):
    """The period one figure is given for."""

    year = "year"
    quarter = "quarter"
    month = "month"


class Measure(Strict):
    """One measure of the outcomes table, as the office defines it."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    name: Text
    definition: Text
    unit: Text = Field(description="unit of measurement, e.g. {zh: 小时, en: hours}")
    period: Granularity = Granularity.year
    owner: Text = Field(description="the department that owns the source data")
    origin: MeasureOrigin = Field(description="system: read from an existing system, no unit "
                                  "burden; unit: reported by each unit on the collection form")
    system: Text | None = Field(default=None, description="the system the figure is read from")
    min: float | None = Field(default=None, description="smallest valid value (form validation)")
    max: float | None = Field(default=None, description="largest valid value (form validation)")
    integer: bool = Field(default=False, description="whole numbers only (counts)")
    minutes: float | None = Field(
        default=None, ge=0, description="minutes a unit spends to report one figure once; "
        "without it the burden report uses the largest burden_minutes of the indicators reading it")

    @model_validator(mode="after")
    def _ordered(self) -> Measure:
        if self.min is not None and self.max is not None and not self.max > self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        return self


class Registry(Strict):
    """The whole registry file: a list of measures under `measures`."""

    measures: list[Measure] = Field(min_length=1)


@dataclass(frozen=True)
class LikelyDuplicate:
    """Two registered measures whose definitions read almost the same."""

    first: str
    second: str
    ratio: float


@dataclass(frozen=True)
class LoadedRegistry:
    """A validated registry with its file (for messages) and the measures by id."""

    path: Path
    registry: Registry

    @property
    def by_id(self) -> dict[str, Measure]:
        return {m.id: m for m in self.registry.measures}

    def get(self, measure_id: str) -> Measure | None:
        return self.by_id.get(measure_id)

    def likely_duplicates(self) -> list[LikelyDuplicate]:
        """Pairs of measures whose zh or en definitions are near-identical (after dropping case,
        spaces and punctuation): probably one figure registered twice under two ids."""
        ms = self.registry.measures
        texts = [(_plain(m.definition.zh), _plain(m.definition.en)) for m in ms]
        out = []
        for i in range(len(ms)):
            for j in range(i + 1, len(ms)):
                ratio = max(_ratio(texts[i][0], texts[j][0]), _ratio(texts[i][1], texts[j][1]))
                if ratio >= DUPLICATE_RATIO:
                    out.append(LikelyDuplicate(ms[i].id, ms[j].id, round(ratio, 3)))
        return out


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def is_registry_text(tree: Any) -> bool:
    """Whether a parsed YAML document is a registry (top-level `measures`, no `dimensions`)."""
    return isinstance(tree, CommentedMap) and "measures" in tree and "dimensions" not in tree


def load_registry(path: str | Path) -> LoadedRegistry:
    """Parse and validate a registry file; `SchemeInvalid` with every issue and its line."""
    path = Path(path)
    file = str(path)
    tree = parse_yaml(read_yaml_file(path), file)
    if not isinstance(tree, CommentedMap):
        raise SchemeInvalid([SchemeIssue(file, 1, "", "a measure registry is a YAML mapping with "
                                         "a list under `measures`; see docs/forms.md")])
    try:
        registry = Registry.model_validate(tree)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = _yaml_path(tree, tuple(err["loc"]))
            msg = message(err, Registry).replace("docs/scheme.md", "docs/forms.md")
            issues.append(SchemeIssue(file, line_of(tree, loc), format_path(loc), msg))
        raise SchemeInvalid(sorted(issues, key=lambda i: i.line or 0)) from None
    seen: dict[str, int] = {}
    issues = []
    for k, m in enumerate(registry.measures):
        if m.id in seen:
            loc = ("measures", k, "id")
            issues.append(SchemeIssue(file, line_of(tree, loc), format_path(loc),
                                      f"measure id '{m.id}' is already registered at "
                                      f"measures[{seen[m.id]}]: keep one entry per measure"))
        seen.setdefault(m.id, k)
    if issues:
        raise SchemeInvalid(issues)
    return LoadedRegistry(path, registry)


def find_registry(scheme_path: str | Path, given: str | Path | None = None) -> Path | None:
    """The registry that applies: `given` if set, else `measures.yaml` beside the scheme file."""
    if given is not None:
        return Path(given)
    beside = Path(scheme_path).parent / REGISTRY_FILE
    return beside if beside.is_file() else None
