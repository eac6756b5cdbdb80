"""Scoring a shop against a scorecard: pure functions over plain data, no database.

A scorecard (`ScorecardSpec`, built from the admin-edited rows by `Scorecard.to_spec` / `ShopScorecard.to_spec`) has
dimensions with weights in percent, each with metrics weighted in percent within their dimension, each with score
steps (threshold → 50/60/70/80/90/100). The rules decided here:

- A metric's step is the best score whose threshold its value meets: `value >= threshold` when higher is better,
  `value <= threshold` when lower is better (a value exactly on a threshold meets it). A value that meets no threshold
  gets the floor, 50: the platforms score 50–100, so a step with score 50 only documents where 50 starts.
- A metric without data (figure None) is shown as "no data", never as 0 or 100, and takes no part in the score: the
  weights of the metrics with data are re-normalised within their dimension, and a dimension without any data is left
  out the same way among the dimensions. With no data at all there is no score.
- A metric without any score step cannot be graded: shown as "no thresholds", left out like "no data".
- Rates are 0–1 fractions as the definitions return them; their thresholds are percentages as the back offices
  show them, so a rate's figure is multiplied by 100 before it is compared (the one place units are converted).
- Douyin's rule 103956 (2026), as data on the scorecard: fewer than `min_valid_orders` valid paid orders in 30 days
  give the fixed `few_orders_score` (70), without deductions; otherwise `deduction_per_incident` (3) per incident,
  at most `max_deduction` (15) in 30 days, never below 50.
- Everything is Decimal; figures given as float are refused. Scores are rounded half-up to 0.01 only for display
  (dimension scores, contributions, total); the total is computed from the unrounded parts.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from metrics.codes import BuyerScale, Direction, Unit

SCORES = (50, 60, 70, 80, 90, 100)
FLOOR_SCORE = 50
TOP_SCORE = 100
HUNDRED = Decimal(100)
CENTS = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Step:
    threshold: Decimal
    score: int


@dataclass(frozen=True)
class MetricSpec:
    code: str
    weight: Decimal  # percent of its dimension
    direction: str
    unit: str
    steps: tuple[Step, ...]
    name: object = ""
    has_shop_thresholds: bool = False  # the shop entered its own steps for this metric


@dataclass(frozen=True)
class DimensionSpec:
    name: str
    weight: Decimal  # percent of the scorecard
    metrics: tuple[MetricSpec, ...]


@dataclass(frozen=True)
class ScorecardSpec:
    name: str
    version: str
    dimensions: tuple[DimensionSpec, ...]
    is_default_thresholds: bool = False
    min_valid_orders: int | None = None
    few_orders_score: int | None = None
    deduction_per_incident: Decimal = Decimal(0)
    max_deduction: Decimal = Decimal(0)
    buyer_scale: str = BuyerScale.NONE


class Status:
    SCORED = "scored"
    NO_DATA = "no_data"
    NO_THRESHOLDS = "no_thresholds"


@dataclass(frozen=True)
class MetricScore:
    code: str
    name: object
    unit: str
    figure: Decimal | None  # as the definition returned it (a rate is 0–1)
    value: Decimal | None  # in the unit of the thresholds (a rate in percent)
    step: int | None
    status: str
    weight: Decimal  # as configured
    effective_weight: Decimal | None  # within the dimension after leaving out metrics without data, percent
    contribution: Decimal | None  # points of the total, rounded to 0.01
    has_shop_thresholds: bool = False


@dataclass(frozen=True)
class DimensionScore:
    name: str
    weight: Decimal
    score: Decimal | None  # 50–100, rounded to 0.01; None when no metric has data
    effective_weight: Decimal | None  # within the scorecard after leaving out dimensions without data, percent
    contribution: Decimal | None
    metrics: tuple[MetricScore, ...]
    exact_score: Decimal | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ScoreResult:
    scorecard: str
    version: str
    dimensions: tuple[DimensionScore, ...]
    weighted_score: Decimal | None  # before the fixed score and deductions, rounded to 0.01
    deduction: Decimal
    total: Decimal | None  # the merchant score, rounded to 0.01; None when there is no data at all
    is_fixed_for_few_orders: bool
    buyer_facing: Decimal | None  # Douyin's 3.0–5.0, when the scorecard has that scale
    is_default_thresholds: bool


def _decimal(value, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not a float ({value!r})")
    return Decimal(value)


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENTS, ROUND_HALF_UP)


def step_for(value: Decimal | None, steps: Iterable[Step], direction: str) -> int | None:
    """The best score whose threshold `value` meets (a value on a threshold meets it); 50 when it meets none.
    None when there is no value (no data) or no step to grade it by."""
    value = _decimal(value, "value")
    steps = list(steps)
    if value is None or not steps:
        return None
    if direction == Direction.HIGHER_IS_BETTER:
        met = [step.score for step in steps if value >= step.threshold]
    elif direction == Direction.LOWER_IS_BETTER:
        met = [step.score for step in steps if value <= step.threshold]
    else:
        raise ValueError(f"unknown direction {direction!r}")
    return max(met, default=FLOOR_SCORE)


def steps_are_monotonic(steps: Iterable[Step], direction: str) -> bool:
    """A better score never asks for less: thresholds rise with the score when higher is better, fall when lower is."""
    ordered = sorted(steps, key=lambda step: step.score)
    pairs = zip(ordered, ordered[1:], strict=False)
    if direction == Direction.HIGHER_IS_BETTER:
        return all(worse.threshold <= better.threshold for worse, better in pairs)
    return all(worse.threshold >= better.threshold for worse, better in pairs)


def _comparable(figure: Decimal | None, unit: str) -> Decimal | None:
    if figure is None:
        return None
    return figure * HUNDRED if unit == Unit.PERCENT else figure


def _weighted_mean(pairs: Sequence[tuple[Decimal, Decimal]]) -> tuple[Decimal | None, Decimal]:
    """(Σ weight × score ÷ Σ weight, Σ weight) over (weight, score) pairs; None when the weights sum to 0."""
    total_weight = sum((weight for weight, _score in pairs), Decimal(0))
    if not total_weight:
        return None, total_weight
    return sum((weight * score for weight, score in pairs), Decimal(0)) / total_weight, total_weight


def dimension_score(dimension: DimensionSpec, figures: Mapping[str, Decimal | None]) -> DimensionScore:
    """The dimension's metrics graded and their weighted mean, re-normalised over the metrics with data.
    Contributions are left to `scorecard_score`, which knows the dimension's share of the total."""
    graded = []
    for metric in dimension.metrics:
        figure = _decimal(figures.get(metric.code), metric.code)
        value = _comparable(figure, metric.unit)
        step = step_for(value, metric.steps, metric.direction)
        if figure is None:
            status = Status.NO_DATA
        elif not metric.steps:
            status = Status.NO_THRESHOLDS
        else:
            status = Status.SCORED
        graded.append((metric, figure, value, step, status))
    scored = [(metric.weight, Decimal(step)) for metric, _f, _v, step, status in graded if status == Status.SCORED]
    exact, weight_with_data = _weighted_mean(scored)
    metrics = tuple(
        MetricScore(
            code=metric.code,
            name=metric.name,
            unit=metric.unit,
            figure=figure,
            value=value,
            step=step if status == Status.SCORED else None,
            status=status,
            weight=metric.weight,
            effective_weight=(
                metric.weight * HUNDRED / weight_with_data if status == Status.SCORED and weight_with_data else None
            ),
            contribution=None,
            has_shop_thresholds=metric.has_shop_thresholds,
        )
        for metric, figure, value, step, status in graded
    )
    return DimensionScore(
        name=dimension.name,
        weight=dimension.weight,
        score=_round(exact),
        effective_weight=None,
        contribution=None,
        metrics=metrics,
        exact_score=exact,
    )


def scorecard_score(
    figures: Mapping[str, Decimal | None],
    scorecard: ScorecardSpec,
    *,
    valid_paid_orders: int | None = None,
    incidents: int = 0,
) -> ScoreResult:
    """Grade `figures` ({metric code: figure or None}) against `scorecard`.

    `valid_paid_orders` (30 days) and `incidents` (deductible incidents in 30 days) matter only to scorecards that
    have those rules; an unknown order count (None) does not trigger the fixed score."""
    if incidents < 0:
        raise ValueError("incidents cannot be negative")
    graded = [dimension_score(dimension, figures) for dimension in scorecard.dimensions]
    with_data = [(dimension.weight, dimension.exact_score) for dimension in graded if dimension.exact_score is not None]
    weighted, dimension_weight_with_data = _weighted_mean(with_data)

    dimensions = []
    for dimension in graded:
        share = (
            dimension.weight / dimension_weight_with_data
            if dimension.exact_score is not None and dimension_weight_with_data
            else None
        )
        metrics = tuple(
            _with_contribution(metric, share * metric.effective_weight / HUNDRED * metric.step)
            if share is not None and metric.effective_weight is not None
            else metric
            for metric in dimension.metrics
        )
        dimensions.append(
            DimensionScore(
                name=dimension.name,
                weight=dimension.weight,
                score=dimension.score,
                effective_weight=None if share is None else share * HUNDRED,
                contribution=None if share is None else _round(share * dimension.exact_score),
                metrics=metrics,
                exact_score=dimension.exact_score,
            )
        )

    is_fixed = (
        scorecard.min_valid_orders is not None
        and scorecard.few_orders_score is not None
        and valid_paid_orders is not None
        and valid_paid_orders < scorecard.min_valid_orders
    )
    deduction = Decimal(0)
    if is_fixed:
        total = Decimal(scorecard.few_orders_score)
    elif weighted is None:
        total = None
    else:
        deduction = deduction_for(incidents, scorecard.deduction_per_incident, scorecard.max_deduction)
        total = max(weighted - deduction, Decimal(FLOOR_SCORE))
    total = _round(total)
    return ScoreResult(
        scorecard=scorecard.name,
        version=scorecard.version,
        dimensions=tuple(dimensions),
        weighted_score=_round(weighted),
        deduction=deduction,
        total=total,
        is_fixed_for_few_orders=is_fixed,
        buyer_facing=buyer_facing_score(total) if scorecard.buyer_scale == BuyerScale.DOUYIN else None,
        is_default_thresholds=scorecard.is_default_thresholds,
    )


def _with_contribution(metric: MetricScore, contribution: Decimal) -> MetricScore:
    return replace(metric, contribution=_round(contribution))


def deduction_for(incidents: int, per_incident: Decimal, cap: Decimal) -> Decimal:
    """Douyin 2026: `per_incident` points per incident (3), at most `cap` (15) in 30 days."""
    per_incident = _decimal(per_incident, "per_incident")
    cap = _decimal(cap, "cap")
    return min(per_incident * incidents, cap)


def buyer_facing_score(merchant_score: Decimal | None) -> Decimal | None:
    """Douyin's score shown to buyers, 3.0–5.0, from the merchant score 50–100.

    61–100: each 4 points is 0.1 (97–100 → 5.0, 93–96 → 4.9 … 61–64 → 4.1); 50–60: each point is 0.1 (60 → 4.0 …
    50 → 3.0). The published table is in whole points, so a fractional score counts the whole points it has reached
    (96.9 → 96 → 4.9). A score outside 50–100 is refused: the rule never gives one, so it is a bug upstream."""
    merchant_score = _decimal(merchant_score, "merchant_score")
    if merchant_score is None:
        return None
    if not FLOOR_SCORE <= merchant_score <= TOP_SCORE:
        raise ValueError(f"a Douyin merchant score is 50–100, not {merchant_score}")
    points = int(merchant_score.to_integral_value(ROUND_FLOOR))
    if points <= 60:
        return (Decimal(3) + (points - 50) * TENTH).quantize(TENTH)
    # 61–64 is one step above 60, 65–68 two, … 97–100 ten: ceil((points - 60) / 4).
    steps = -(-(points - 60) // 4)
    return (Decimal(4) + steps * TENTH).quantize(TENTH)
