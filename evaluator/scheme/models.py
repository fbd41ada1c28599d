"""The scheme language: what an assessment office may write in a scheme YAML file.

Field names, types, defaults and docstrings here *are* the reference for the file format
(docs/scheme.md is written from them). Cross-field checks that need the whole tree
(duplicate ids, dangling references, point totals) live in `evaluator.scheme.checks`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from evaluator.scheme.hints import id_problem


class Strict(BaseModel):
    """Base for every scheme model: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _plain_id(value: object) -> object:
    """Ids are matched verbatim against data and other ids: a full-width comma or a space in
    one is a typing slip (`[township，street]` would be one unit type), so it is an error."""
    if isinstance(value, str):
        problem = id_problem(value)
        if problem:
            raise ValueError(problem)
    return value


Id = Annotated[str, BeforeValidator(_plain_id), StringConstraints(min_length=1)]
"""An identifier: any text without whitespace or full-width punctuation (pattern per field)."""


class Text(Strict):
    """A bilingual label. Both languages are required: users read schemes in zh and en."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Evidence(StrEnum):
    """What an indicator's number proves. `trace` only proves paperwork exists."""

    outcome = "outcome"
    satisfaction = "satisfaction"
    output = "output"
    process = "process"
    trace = "trace"


class Direction(StrEnum):
    # upper-case member names: a member called `lower` would shadow str.lower
    HIGHER = "higher"
    LOWER = "lower"


class Aggregation(StrEnum):
    """How a node combines its children's scores (formulas: docs/scheme.md)."""

    arithmetic = "arithmetic"
    geometric = "geometric"
    harmonic = "harmonic"
    generalised = "generalised"  # the power mean: needs `power`
    median = "median"  # weighted median
    mazziotta_pareto = "mazziotta_pareto"  # mean penalised by the spread (Compind's MPI)
    ratio = "ratio"  # first child / second child (GDI = female HDI / male HDI)


RATIO_CEILING = 1e12  # "no top" for a ratio total: the largest number a scheme may hold


class Frequency(StrEnum):
    annual = "annual"
    quarterly = "quarterly"
    monthly = "monthly"
    weekly = "weekly"
    daily = "daily"


REPORTS_PER_YEAR: dict[Frequency, int] = {
    Frequency.annual: 1,
    Frequency.quarterly: 4,
    Frequency.monthly: 12,
    Frequency.weekly: 50,
    Frequency.daily: 250,
}


class Rollup(StrEnum):
    """How sub-annual values (2026Q1, 2026-03) become the scored period's value."""

    mean = "mean"
    sum = "sum"
    last = "last"


class MissingPolicy(StrEnum):
    """What to do when a unit has no value for an indicator."""

    reweight = "reweight"  # drop it and re-normalise weights within the parent
    peer_median = "peer_median"  # impute the peer-group median of the indicator's value
    zero = "zero"  # score it as the bottom of the scale
    group_mean = "group_mean"  # impute the mean of the unit's group (`impute_by`)
    group_median = "group_median"  # impute the median of the unit's group (`impute_by`)
    previous_period = "previous_period"  # impute the unit's own value of the year before


# --------------------------------------------------------------------------- data sources


class MeasurementError(Strict):
    """Declared measurement error of a measure, drawn from by `evaluator uncertainty`.

    Exactly one of: `sd_measure` (another measure in the outcomes table holding each unit's
    standard error, same period), `relative` (sd = relative × |value|) or `sd` (one absolute
    standard error for every unit)."""

    sd_measure: Id | None = Field(default=None, min_length=1)
    relative: float | None = Field(default=None, gt=0)
    sd: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> MeasurementError:
        given = [k for k in ("sd_measure", "relative", "sd") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("error: give exactly one of sd_measure, relative or sd "
                             f"(given: {', '.join(given) or 'none'})")
        return self


class MeasureSource(Strict):
    """A measure in the `outcomes` table, optionally denominated by another (per capita…)."""

    measure: Id = Field(min_length=1)
    rollup: Rollup = Rollup.mean
    error: MeasurementError | None = Field(
        default=None, description="measurement error for the bootstrap (none: exact)")
    per: Id | None = Field(
        default=None, description="denominator measure: the value is measure / per × factor "
        "(e.g. per: population, factor: 10000 for a rate per 10,000 residents)")
    factor: float = Field(default=1.0, gt=0, description="multiplier of a denominated value")

    @model_validator(mode="after")
    def _denominated(self) -> MeasureSource:
        if self.per is None and self.factor != 1:
            raise ValueError("`factor` multiplies a denominated value: add `per: <denominator "
                             "measure>` or remove `factor`")
        if self.per is not None and self.per == self.measure:
            raise ValueError(f"`per` must name another measure than '{self.measure}' (a value "
                             "divided by itself is always 1)")
        return self


class SurveyScale(Strict):
    """Answer scale of the questions, e.g. 1–5. Both bounds are required."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> SurveyScale:
        if not self.max > self.min:
            raise ValueError(f"scale max ({self.max}) must be greater than min ({self.min})")
        return self


class SurveySource(Strict):
    """A set of survey questions averaged per respondent into a 0–100 index."""

    questions: list[Id] = Field(min_length=1)
    scale: SurveyScale
    top_box: int = Field(default=2, ge=1, description="answers in the top N points count as satisfied")


def _source_kind(value: object) -> str:
    """`measure:` means an outcomes measure, `questions:` a survey; tells pydantic which to check."""
    if isinstance(value, dict):
        return "survey" if "questions" in value and "measure" not in value else "measure"
    return "survey" if isinstance(value, SurveySource) else "measure"


Source = Annotated[
    Annotated[MeasureSource, Tag("measure")] | Annotated[SurveySource, Tag("survey")],
    Discriminator(_source_kind),
]


# --------------------------------------------------------------------------- transforms


class Transform(Strict):
    """Applied to the raw value (and to goalposts/targets given in raw units) before scoring."""

    log: bool = False
    floor: float | None = None
    cap: float | None = None
    winsorize: tuple[float, float] | None = Field(
        default=None, description="lower and upper quantiles, e.g. [0.05, 0.95]; bounds reported"
    )
    outliers: bool = Field(
        default=False, description="COINr's default outlier treatment: winsorise up to "
        "`winmax` points until |skew| < skew_max or kurtosis < kurtosis_max, else shifted log")
    winmax: int = Field(default=5, ge=1, description="most points `outliers` winsorises")
    skew_max: float = Field(default=2.0, gt=0, description="`outliers`: |skewness| limit")
    kurtosis_max: float = Field(default=3.5, gt=0, description="`outliers`: kurtosis limit")
    shifted_log: bool = Field(
        default=False, description="ln(x − min + 0.01·(max − min)) over the units scored")
    box_cox: float | None = Field(
        default=None, description="Box-Cox λ: (x^λ − 1)/λ, ln x for λ = 0; x must be > 0")

    @model_validator(mode="after")
    def _treatments(self) -> Transform:
        logs = [k for k, on in (("log", self.log), ("shifted_log", self.shifted_log),
                                ("box_cox", self.box_cox is not None)) if on]
        if len(logs) > 1:
            raise ValueError(f"choose one of {', '.join(logs)}: each is a log-like transform")
        if self.outliers and (logs or self.winsorize is not None):
            raise ValueError("`outliers` winsorises, or falls back to a shifted log, by itself: "
                             f"remove {', '.join([*logs, *(['winsorize'] if self.winsorize else [])])}")
        if not self.outliers and (self.winmax, self.skew_max, self.kurtosis_max) != (5, 2.0, 3.5):
            raise ValueError("`winmax`, `skew_max` and `kurtosis_max` are read only with "
                             "`outliers: true`")
        return self

    @model_validator(mode="after")
    def _ordered(self) -> Transform:
        if self.floor is not None and self.cap is not None and self.floor >= self.cap:
            raise ValueError(f"floor ({self.floor}) must be below cap ({self.cap})")
        if self.winsorize is not None:
            lo, hi = self.winsorize
            if not 0 <= lo < hi <= 1:
                raise ValueError("winsorize quantiles must satisfy 0 <= lower < upper <= 1")
        return self


# --------------------------------------------------------------------------- scoring rules
# Every rule outputs an indicator score on 0–100 ("better" is always higher after the
# indicator's direction is applied). The total is mapped onto the scheme's scale at the end.


class MinMaxRule(Strict):
    """low + (high − low)·(x − min)/(max − min) over the units scored (or each peer group)."""

    type: Literal["min_max"]
    within: Literal["all", "peer_group"] = "all"
    range: tuple[float, float] = Field(
        default=(0.0, 100.0), description="low and high score, e.g. [1, 100] so that a "
        "geometric mean never meets a 0; within 0–100")
    panel: tuple[int, int] | None = Field(
        default=None, description="first and last year whose values together set the "
        "reference (min, max, mean, sd), so that years compare; e.g. [2015, 2021]")

    @model_validator(mode="after")
    def _range(self) -> MinMaxRule:
        low, high = self.range
        if not 0 <= low < high <= 100:
            raise ValueError(f"range [{low:g}, {high:g}] must satisfy 0 <= low < high <= 100: "
                             "indicator scores live on 0–100 (the scheme's `scale` maps the "
                             "total onto any other range)")
        _check_panel(self)
        return self


def _check_panel(rule: MinMaxRule | ZScoreRule | FractionOfMaxRule) -> None:
    """A panel spans years in order, over all units (peer groups would need a panel each)."""
    if rule.panel is not None:
        first, last = rule.panel
        if first > last:
            raise ValueError(f"panel [{first}, {last}]: the first year must not be after the last")
        if rule.within != "all":
            raise ValueError("a panel compares all units over several years: remove "
                             "`within: peer_group` or the panel")


class GoalpostsRule(Strict):
    """100·(x − lower)/(upper − lower) with fixed goalposts in the measure's raw units."""

    type: Literal["goalposts"]
    lower: float
    upper: float
    clamp: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> GoalpostsRule:
        if not self.upper > self.lower:
            raise ValueError(
                f"goalposts in the wrong order: upper ({self.upper}) must be greater than "
                f"lower ({self.lower}); direction: lower flips the score, not the goalposts"
            )
        return self


class TargetRule(Strict):
    """Distance to target: 100·min(1, x/target) (higher) or 100·min(1, target/x) (lower).

    Without `target`, the per-unit target comes from the `targets` input (目标责任制).
    """

    type: Literal["target"]
    target: float | None = None


class Band(Strict):
    """One threshold band: values at or past `threshold` (in the better direction) score `score`."""

    threshold: float
    score: float = Field(ge=0, le=100)


class BandsRule(Strict):
    """Threshold bands, e.g. ≥95% → 100, ≥90% → 80; the best band that is reached applies."""

    type: Literal["bands"]
    bands: list[Band] = Field(min_length=1)
    otherwise: float = Field(default=0, ge=0, le=100)


class PercentileRule(Strict):
    """Percentile rank among the units scored, 0–100: 100·(rank − 1)/(n − 1), worst rank 1.

    `ties` is how tied units share ranks (R's ties.method): `average` (mid-rank), `min`
    (the Borda score: units beaten), `max` (the competition rank counted from the best).
    """

    type: Literal["percentile"]
    within: Literal["all", "peer_group"] = "all"
    ties: Literal["average", "min", "max"] = "average"


class ZScoreRule(Strict):
    """center + spread·z, clamped to 0–100."""

    type: Literal["zscore"]
    center: float = 50
    spread: float = Field(default=15, gt=0)
    within: Literal["all", "peer_group"] = "all"
    clamp: bool = Field(default=True, description="clamp to 0–100; false keeps the tails")
    panel: tuple[int, int] | None = Field(
        default=None, description="first and last year whose values together set the "
        "reference (min, max, mean, sd), so that years compare; e.g. [2015, 2021]")

    @model_validator(mode="after")
    def _panel(self) -> ZScoreRule:
        _check_panel(self)
        return self


class EfficacyRule(Strict):
    """功效系数法: 60 + 40·(x − bad)/(good − bad), clamped to [floor, 100].

    Without `good`/`bad` the best/worst value among the units scored is used.
    """

    type: Literal["efficacy"]
    good: float | None = None
    bad: float | None = None
    floor: float = Field(default=0, ge=0, le=100)


class DeductionRule(Strict):
    """Start from 100 and deduct `points` per unit of the value (e.g. per incident), not below `floor`."""

    type: Literal["deduction"]
    points: float = Field(gt=0)
    floor: float = Field(default=0, ge=0, le=100)


class PassFailRule(Strict):
    """100 when the value reaches `threshold` in the better direction, else `fail_score`."""

    type: Literal["pass_fail"]
    threshold: float
    fail_score: float = Field(default=0, ge=0, le=100)


class FractionOfMaxRule(Strict):
    """100·x/max over the units scored (lower: 100·min/x), clamped to 0–100."""

    type: Literal["fraction_of_max"]
    within: Literal["all", "peer_group"] = "all"
    panel: tuple[int, int] | None = Field(
        default=None, description="first and last year whose values together set the "
        "reference (min, max, mean, sd), so that years compare; e.g. [2015, 2021]")

    @model_validator(mode="after")
    def _panel(self) -> FractionOfMaxRule:
        _check_panel(self)
        return self


class ReferenceUnitRule(Strict):
    """Distance to a reference unit: 100·(x − min)/(x_ref − min), so the reference scores 100
    (lower: 100·(max − x)/(max − x_ref))."""

    type: Literal["reference_unit"]
    unit: Id = Field(description="unit_id of the reference unit")
    clamp: bool = Field(default=True, description="clamp to 0–100 (units past the reference)")


class DirectRule(Strict):
    """The value already is a 0–100 score (e.g. a satisfaction index); clamped to 0–100."""

    type: Literal["direct"]


Rule = Annotated[
    MinMaxRule
    | GoalpostsRule
    | TargetRule
    | BandsRule
    | PercentileRule
    | ZScoreRule
    | EfficacyRule
    | DeductionRule
    | PassFailRule
    | DirectRule
    | FractionOfMaxRule
    | ReferenceUnitRule,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- tree


class LintSettings(Strict):
    """Per-indicator lint silencing: name the rule ids and say why."""

    ignore: list[Id] = Field(default_factory=list)
    reason: str | None = None


class Indicator(Strict):
    """What is measured, what it proves, where its data comes from and how it is scored."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: Text
    description: Text | None = None
    evidence: Evidence
    linked_outcomes: list[Id] = Field(
        default_factory=list, description="for trace/process indicators: outcome indicator ids served"
    )
    source: Source
    direction: Direction = Direction.HIGHER
    transform: Transform | None = None
    rule: Rule
    missing: MissingPolicy = MissingPolicy.reweight
    impute_by: Literal["peer_group", "parent_id", "unit_type"] = Field(
        default="peer_group", description="units column whose groups `group_mean` / "
        "`group_median` impute within")
    frequency: Frequency = Frequency.annual
    burden_minutes: float | None = Field(
        default=None, ge=0, description="minutes of reporting work per unit per report"
    )
    department: str | None = None
    weight: float = Field(default=1.0, ge=0)
    lint: LintSettings | None = None

    @model_validator(mode="after")
    def _imputation(self) -> Indicator:
        if self.impute_by != "peer_group" and self.missing not in (
                MissingPolicy.group_mean, MissingPolicy.group_median):
            raise ValueError("`impute_by` is read only by `missing: group_mean` or "
                             "`group_median`: remove it or change `missing`")
        if self.missing is MissingPolicy.previous_period and not isinstance(
                self.source, MeasureSource):
            raise ValueError("`missing: previous_period` needs a measure source (a survey "
                             "index is not carried over from the year before)")
        return self

    def burden_hours(self) -> float:
        """Reporting hours per unit per year: burden_minutes × reports per year / 60 (0 if undeclared)."""
        return (self.burden_minutes or 0.0) * REPORTS_PER_YEAR[self.frequency] / 60.0


class Dimension(Strict):
    """A node of the tree; children are indicators and/or sub-dimensions, any depth."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: Text
    description: Text | None = None
    weight: float = Field(default=1.0, ge=0)
    aggregation: Aggregation = Aggregation.arithmetic
    total_points: float | None = Field(default=None, gt=0)
    power: float | None = Field(
        default=None, description="exponent p of `aggregation: generalised` (≠ 0): "
        "(Σ wᵢ sᵢᵖ / Σ wᵢ)^(1/p); 1 arithmetic, −1 harmonic, 2 quadratic")
    min_coverage: float = Field(
        default=0.0, ge=0, le=1,
        description="share of this node's children (indicators and sub-dimensions of positive "
        "weight) that must have a score for a unit to be scored here; 1 = all of them",
    )
    indicators: list[Indicator] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Dimension:
        if not self.indicators and not self.dimensions:
            raise ValueError("a dimension needs at least one entry under `indicators` or `dimensions`")
        return self


class Scale(Strict):
    min: float = 0
    max: float = 100
    decimals: int = Field(default=2, ge=0, le=6)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not self.max > self.min:
            raise ValueError(f"scale max ({self.max}) must be greater than min ({self.min})")
        return self


class Grade(Strict):
    """A grade band (等次). Listed best first; a unit gets the first band whose `min_score` it
    reaches; the last band catches every score below the others (its `min_score` may be left out).
    """

    code: Id = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
    name: Text
    min_score: float | None = None
    max_share: float | None = Field(
        default=None, gt=0, le=1, description="quota: at most this fraction of units, e.g. 0.2"
    )


DEFAULT_GRADES: list[dict[str, object]] = [
    {"code": "excellent", "name": {"zh": "优秀", "en": "Excellent"}, "min_score": 90},
    {"code": "good", "name": {"zh": "良好", "en": "Good"}, "min_score": 80},
    {"code": "fair", "name": {"zh": "一般", "en": "Fair"}, "min_score": 60},
    {"code": "poor", "name": {"zh": "较差", "en": "Poor"}, "min_score": None},
]


class Veto(Strict):
    """一票否决: an event that caps the unit's grade (and optionally its score)."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: Text
    event: Id = Field(min_length=1, description="event id in the `events` input")
    max_grade: Id = Field(description="grade code the unit can at best receive")
    max_score: float | None = None


class Adjustment(Strict):
    """加分项 / 扣分项: points per event (times the event's value when given), within a cap."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: Text
    kind: Literal["bonus", "deduction"]
    event: Id = Field(min_length=1)
    points: float = Field(gt=0, description="points per event occurrence (× event value if set)")
    cap: float = Field(gt=0, description="most points this item can add or remove")


class TracePolicy(Strict):
    """How trace indicators are penalised (applied to declared global weights)."""

    trace_only_factor: float = Field(default=0.0, ge=0, le=1)
    max_share: float = Field(default=0.10, ge=0, le=1)
    freed_weight: Literal["outcomes", "all"] = "outcomes"


class Disclosure(Strict):
    """What leaves the office: survey figures resting on few responses are suppressed.

    Distinct from `survey.min_sample`, which governs scoring (shrinking or dropping a small
    sample); this governs only what leadership and units are shown, so a figure can be scored
    (n ≥ min_sample) and still be suppressed for them (n < min_responses), or the reverse.
    """

    min_responses: int = Field(
        default=10, ge=1,
        description="satisfaction results resting on fewer valid responses are shown to "
        "non-office roles as suppressed (respondent confidentiality)",
    )


class SurveySettings(Strict):
    """Survey validity filters and small-sample handling."""

    min_sample: int = Field(default=30, ge=1)
    speeder_fraction: float = Field(default=0.4, ge=0, le=1)
    straightline_min_questions: int = Field(
        default=5, ge=2,
        description="straight-lining is judged only on questionnaires at least this long: on short "
        "ones, identical answers are common among genuine respondents (12% on the demo's 4 questions)",
    )
    small_sample: Literal["shrink", "missing", "keep"] = "shrink"


class UncertaintySettings(Strict):
    """How `evaluator uncertainty` varies a run (bootstrap, weight Monte-Carlo) and tiers it."""

    tiers: bool = Field(default=False, description="group units into statistically "
                        "distinguishable tiers by their bootstrap rank intervals")
    weight_range: float = Field(default=0.25, ge=0, le=1, description="each weight varies "
                                "uniformly within ± this fraction of its declared value")
    weight_draws: Literal["uniform", "dirichlet"] = "uniform"
    dirichlet_concentration: float = Field(default=50.0, gt=0, description="Dirichlet α = "
                                           "concentration × the declared sibling shares")
    vary_aggregation: bool = Field(default=True, description="also draw arithmetic or "
                                   "geometric per dimension")
    draws: int = Field(default=1000, ge=10, le=100000, description="weight Monte-Carlo draws")
    tier_grades: bool = Field(default=False, description="also grade by tier: units of one tier "
                              "(statistically indistinguishable) get one grade, the grade its "
                              "median unit earns; quotas admit or move down whole tiers; needs "
                              "tiers: true")

    @model_validator(mode="after")
    def _tier_grades_need_tiers(self) -> UncertaintySettings:
        if self.tier_grades and not self.tiers:
            raise ValueError("uncertainty.tier_grades: true needs uncertainty.tiers: true (grades "
                             "by tier are computed from the tiers) / 按梯队定等需先开启 tiers")
        return self


class LintLimits(Strict):
    """Thresholds the formalism linter checks the scheme against."""

    max_indicators: int = Field(default=30, ge=1)
    min_satisfaction_share: float = Field(default=0.20, ge=0, le=1)
    max_process_trace_share: float = Field(default=0.30, ge=0, le=1)
    max_burden_hours: float = Field(default=40.0, gt=0, description="per unit per year")
    max_reports_per_year: int = Field(default=60, ge=1, description="per unit per year")
    max_trace_share: float = Field(
        default=0.10, ge=0, le=1,
        description="lint error above this declared share of trace weight (independent of the "
        "scoring trace_policy, so a scheme may score the old way and still be flagged)",
    )
    require_satisfaction: bool = Field(
        default=False, description="make a scheme without any satisfaction indicator a lint error"
    )


PeerColumn = Literal["peer_group", "unit_type", "parent_id", "population_band"]
Covariate = Literal["peer_group", "unit_type", "parent_id", "population_band", "population",
                    "log_population"]


class ValueAdded(Strict):
    """Value-added (增值): each unit's score minus the score expected of a unit in its context,
    fitted per indicator (and for the total) by least squares on the declared covariates across
    the run's units. Shown beside the raw score, never replacing it (docs/fairness.md)."""

    covariates: list[Covariate] = Field(
        min_length=1,
        description="context the unit does not choose: population, log_population (its natural "
        "log), or a category of the units table (peer_group such as urban/rural, unit_type, "
        "parent_id, population_band)",
    )
    min_units: int = Field(
        default=10, ge=3,
        description="a fit needs at least this many units with every covariate, and more units "
        "than coefficients + 2; otherwise no expected value is given",
    )


class Fairness(Strict):
    """Peer groups and context for fair comparisons (实事求是、客观公正)."""

    peers: PeerColumn = Field(
        default="peer_group",
        description="the units-table column a unit is compared within (its peer rank and the "
        "peer median of the score); population_band cuts population at `population_bands`",
    )
    population_bands: list[float] = Field(
        default_factory=list,
        description="ascending population edges for population_band: [20000, 50000] gives the "
        "bands <20000, 20000–50000 and ≥50000",
    )
    value_added: ValueAdded | None = None

    @model_validator(mode="after")
    def _bands(self) -> Fairness:
        wanted = self.peers == "population_band" or (
            self.value_added is not None and "population_band" in self.value_added.covariates)
        if wanted and not self.population_bands:
            raise ValueError("population_band needs population_bands, e.g. [20000, 50000]")
        if any(b <= a for a, b in zip(self.population_bands, self.population_bands[1:],
                                      strict=False)):
            raise ValueError("population_bands must be strictly ascending")
        return self


class Scheme(Strict):
    """A versioned indicator scheme (考核方案) for one year and one or more unit types."""

    id: Id = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    version: str = "1"
    name: Text
    description: Text | None = None
    year: int = Field(ge=1900, le=2200, description="the default period scored")
    unit_types: list[Id] = Field(min_length=1)
    scale: Scale = Field(default_factory=Scale)
    aggregation: Aggregation = Aggregation.arithmetic
    total_points: float | None = Field(default=None, gt=0)
    power: float | None = Field(
        default=None, description="exponent p of `aggregation: generalised` (≠ 0): "
        "(Σ wᵢ sᵢᵖ / Σ wᵢ)^(1/p); 1 arithmetic, −1 harmonic, 2 quadratic")
    min_coverage: float = Field(
        default=0.0, ge=0, le=1,
        description="share of the top-level dimensions (those of positive "
        "weight) that must have a score for a unit to be given a total score; 1 = all of them",
    )
    grades: list[Grade] = Field(default_factory=lambda: [Grade.model_validate(g) for g in DEFAULT_GRADES])
    vetoes: list[Veto] = Field(default_factory=list)
    adjustments: list[Adjustment] = Field(default_factory=list)
    trace_policy: TracePolicy = Field(default_factory=TracePolicy)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    uncertainty: UncertaintySettings = Field(default_factory=UncertaintySettings)
    disclosure: Disclosure = Field(default_factory=Disclosure)
    limits: LintLimits = Field(default_factory=LintLimits)
    fairness: Fairness | None = Field(
        default=None, description="peer groups and value-added scores (docs/fairness.md)")
    dimensions: list[Dimension] = Field(min_length=1)

    @property
    def score_ceiling(self) -> float:
        """The highest final score: `scale.max`, except for a total that is a ratio
        (`aggregation: ratio`), which has no top. There `scale.max` is parity (the two
        sub-scores equal) and a ratio above it is kept, as a Gender Development Index above 1
        (female HDI above male) is; the floor stays `scale.min`."""
        return RATIO_CEILING if self.aggregation is Aggregation.ratio else self.scale.max

    # ------------------------------------------------------------------ navigation helpers

    def indicators(self) -> list[Indicator]:
        """All indicators, depth-first in file order."""
        return [ind for _, ind in self.indicator_paths()]

    def indicator_paths(self) -> list[tuple[list[Dimension], Indicator]]:
        """Each indicator with the chain of dimensions above it (root first)."""
        out: list[tuple[list[Dimension], Indicator]] = []

        def walk(dim: Dimension, chain: list[Dimension]) -> None:
            chain = [*chain, dim]
            for ind in dim.indicators:
                out.append((chain, ind))
            for sub in dim.dimensions:
                walk(sub, chain)

        for d in self.dimensions:
            walk(d, [])
        return out

    def all_dimensions(self) -> list[Dimension]:
        out: list[Dimension] = []

        def walk(dim: Dimension) -> None:
            out.append(dim)
            for sub in dim.dimensions:
                walk(sub)

        for d in self.dimensions:
            walk(d)
        return out

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators():
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)
