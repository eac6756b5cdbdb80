"""Scorecards as data (DESIGN §5): the step a value reaches in either direction, "no data" left out of the weights,
a whole scorecard worked out by hand, Douyin's buyer-facing 3.0–5.0 and its 2026 rules (fixed 70 under 30 orders,
deductions capped at 15), the seeded scorecards, a shop's own steps, and the admin pages."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales import roles
from aftersales.models import Platform
from aftersales.services import shop_assign_user
from metrics.codes import METRIC_UNITS, BuyerScale, Direction, MetricCode, Unit
from metrics.models import Scorecard, ScorecardDimension, ScorecardMetric, ScoreStep, ShopScorecard, ShopScoreStep
from metrics.scoring import (
    DimensionSpec,
    MetricSpec,
    ScorecardSpec,
    Status,
    Step,
    buyer_facing_score,
    deduction_for,
    scorecard_score,
    step_for,
    steps_are_monotonic,
)
from tests.factories import ShopFactory, make_staff

D = Decimal
HIGHER = Direction.HIGHER_IS_BETTER
LOWER = Direction.LOWER_IS_BETTER

SCORECARDS = reverse("admin:metrics_scorecard_changelist")
METRICS = reverse("admin:metrics_scorecardmetric_changelist")
SHOP_SCORECARDS = reverse("admin:metrics_shopscorecard_changelist")


def steps(*thresholds, scores=(100, 90, 80, 70, 60)):
    return tuple(Step(threshold=D(threshold), score=score) for threshold, score in zip(thresholds, scores, strict=True))


PICKUP_STEPS = steps("98", "95", "90", "85", "80")  # higher is better, percent
NEGATIVE_REVIEW_STEPS = steps("0.5", "1.0", "1.5", "2.0", "3.0")  # lower is better, percent


def metric(code, weight, direction, unit, metric_steps):
    return MetricSpec(code=code, weight=D(weight), direction=direction, unit=unit, steps=metric_steps)


# The seed-004 shape with the seeded default thresholds, built by hand so the arithmetic below does not move when
# someone edits the seeds.
DOUYIN_LIKE = ScorecardSpec(
    name="商家体验分",
    version="test",
    buyer_scale=BuyerScale.DOUYIN,
    dimensions=(
        DimensionSpec(
            "商品体验",
            D(40),
            (
                metric("negative_review_rate", 50, LOWER, Unit.PERCENT, NEGATIVE_REVIEW_STEPS),
                metric("quality_return_rate", 50, LOWER, Unit.PERCENT, steps("0.3", "0.6", "1.0", "1.5", "2.5")),
            ),
        ),
        DimensionSpec(
            "物流体验",
            D(20),
            (
                metric("pickup_24h_rate", 40, HIGHER, Unit.PERCENT, PICKUP_STEPS),
                metric("delivery_time", 30, LOWER, Unit.HOURS, steps("48", "60", "72", "84", "96")),
                metric(
                    "shipping_negative_feedback_rate",
                    30,
                    LOWER,
                    Unit.PERCENT,
                    steps("0.05", "0.1", "0.2", "0.3", "0.5"),
                ),
            ),
        ),
        DimensionSpec(
            "服务体验",
            D(40),
            (
                metric("refund_only_merchant_time", 20, LOWER, Unit.HOURS, steps("2", "4", "8", "12", "24")),
                metric("return_merchant_time", 20, LOWER, Unit.HOURS, steps("24", "36", "48", "60", "72")),
                metric("rejection_rate", 20, LOWER, Unit.PERCENT, steps("1", "2", "3", "5", "8")),
                metric("platform_help_rate", 20, LOWER, Unit.PERCENT, steps("0.1", "0.2", "0.3", "0.5", "1.0")),
                metric("chat_response_time", 20, LOWER, Unit.SECONDS, steps("15", "30", "45", "60", "90")),
            ),
        ),
    ),
)

FIGURES = {
    "negative_review_rate": D("0.0100"),
    "quality_return_rate": D("0.0070"),
    "pickup_24h_rate": D("0.9600"),
    "delivery_time": D("100.00"),
    "shipping_negative_feedback_rate": None,
    "refund_only_merchant_time": D("3.50"),
    "return_merchant_time": D("24.00"),
    "rejection_rate": D("0.0500"),
    "platform_help_rate": D("0.0010"),
    "chat_response_time": D("31"),
}


def by_code(result):
    return {metric.code: metric for dimension in result.dimensions for metric in dimension.metrics}


# --- the step a value reaches ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", 100),
        ("98", 100),  # exactly on the 100 threshold
        ("97.99", 90),
        ("95", 90),  # exactly on the 90 threshold
        ("80", 60),  # exactly on the lowest threshold
        ("79.99", 50),  # below every threshold: the floor
        ("0", 50),
    ],
)
def test_higher_is_better_reaches_the_best_step_whose_threshold_it_meets(value, expected):
    assert step_for(D(value), PICKUP_STEPS, HIGHER) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 100),
        ("0.5", 100),  # exactly on the 100 threshold
        ("0.5001", 90),
        ("1.0", 90),
        ("2.99", 60),
        ("3.0", 60),  # exactly on the lowest threshold
        ("3.0001", 50),  # worse than every threshold: the floor
    ],
)
def test_lower_is_better_reaches_the_best_step_whose_threshold_it_meets(value, expected):
    assert step_for(D(value), NEGATIVE_REVIEW_STEPS, LOWER) == expected


def test_no_value_is_no_data_not_a_score():
    assert step_for(None, PICKUP_STEPS, HIGHER) is None
    assert step_for(None, NEGATIVE_REVIEW_STEPS, LOWER) is None


def test_a_metric_without_steps_cannot_be_graded():
    assert step_for(D("1"), (), LOWER) is None


def test_a_float_value_is_refused():
    with pytest.raises(TypeError):
        step_for(0.96, PICKUP_STEPS, HIGHER)


def test_steps_out_of_order_for_their_direction_are_not_monotonic():
    assert steps_are_monotonic(PICKUP_STEPS, HIGHER)
    assert not steps_are_monotonic(PICKUP_STEPS, LOWER)
    assert steps_are_monotonic(NEGATIVE_REVIEW_STEPS, LOWER)
    assert not steps_are_monotonic(steps("98", "99", "90", "85", "80"), HIGHER)


# --- a whole scorecard ----------------------------------------------------------------------------------------------


def test_a_scorecard_worked_out_by_hand():
    """Dimensions 40/20/40; a metric's weight is its share of its dimension.

    商品体验 (40%):
      商品差评率 1.00% (0.0100) ≤ 1.0 → 90, weight 50;  商品品质退货率 0.70% ≤ 1.0 but > 0.6 → 80, weight 50
      → (50×90 + 50×80) ÷ 100 = 85
    物流体验 (20%):
      24小时揽收率 96% ≥ 95 → 90, weight 40;  配送时长 100 h > 96 → floor 50, weight 30;
      发货问题负向反馈率 no data, weight 30 left out: re-normalised over 40 + 30 = 70
      → (40×90 + 30×50) ÷ 70 = 5100 ÷ 70 = 72.857142…
    服务体验 (40%), five metrics of 20:
      仅退款时长 3.5 h ≤ 4 → 90; 退货退款时长 24 h on the 100 threshold → 100; 拒绝率 5% on the 70 threshold → 70;
      平台求助率 0.1% → 100; 飞鸽 31 s ≤ 45 → 80  → (90 + 100 + 70 + 100 + 80) ÷ 5 = 88
    total = 0.4×85 + 0.2×72.857142… + 0.4×88 = 34 + 14.571428… + 35.2 = 83.771428… → 83.77
    contributions: 差评 0.4×0.5×90 = 18.00; 揽收 0.2×(40/70)×90 = 10.2857 → 10.29; 配送 0.2×(30/70)×50 = 4.29;
      飞鸽 0.4×0.2×80 = 6.40
    buyer-facing: 83 points → 61 + 4×5 = 81…84 is the sixth band above 60 → 4.6
    """
    result = scorecard_score(FIGURES, DOUYIN_LIKE)

    assert [dimension.score for dimension in result.dimensions] == [D("85.00"), D("72.86"), D("88.00")]
    assert result.weighted_score == D("83.77")
    assert result.total == D("83.77")
    assert result.deduction == 0
    assert result.buyer_facing == D("4.6")
    metrics = by_code(result)
    assert [metrics[code].step for code in FIGURES] == [90, 80, 90, 50, None, 90, 100, 70, 100, 80]
    assert metrics["negative_review_rate"].value == D("1.0000")  # the 0–1 rate compared in percent
    assert metrics["negative_review_rate"].contribution == D("18.00")
    assert metrics["pickup_24h_rate"].contribution == D("10.29")
    assert metrics["delivery_time"].contribution == D("4.29")
    assert metrics["chat_response_time"].contribution == D("6.40")
    assert metrics["pickup_24h_rate"].effective_weight.quantize(D("0.01")) == D("57.14")


def test_a_metric_without_data_is_shown_as_no_data_and_carries_no_weight():
    result = scorecard_score(FIGURES, DOUYIN_LIKE)

    missing = by_code(result)["shipping_negative_feedback_rate"]
    assert missing.status == Status.NO_DATA
    assert missing.figure is None
    assert missing.step is None
    assert missing.contribution is None
    assert missing.effective_weight is None


def test_a_dimension_without_any_data_is_left_out_and_the_others_carry_the_score():
    """Only 商品体验 has figures (85 as above): the total is 85, not 0.4 × 85 = 34."""
    figures = {"negative_review_rate": D("0.0100"), "quality_return_rate": D("0.0070")}

    result = scorecard_score(figures, DOUYIN_LIKE)

    assert result.total == D("85.00")
    assert [dimension.score for dimension in result.dimensions] == [D("85.00"), None, None]
    assert result.dimensions[0].effective_weight == D(100)


def test_no_data_at_all_gives_no_score():
    result = scorecard_score({}, DOUYIN_LIKE)

    assert result.total is None
    assert result.buyer_facing is None
    assert {metric.status for metric in by_code(result).values()} == {Status.NO_DATA}


# --- Douyin: buyer-facing score and the 2026 rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merchant", "buyer"),
    [
        ("100", "5.0"),
        ("97", "5.0"),
        ("96", "4.9"),
        ("93", "4.9"),
        ("92", "4.8"),
        ("65", "4.2"),
        ("64", "4.1"),
        ("61", "4.1"),
        ("60", "4.0"),
        ("59", "3.9"),
        ("55", "3.5"),
        ("51", "3.1"),
        ("50", "3.0"),
        ("96.99", "4.9"),  # a fractional score counts the whole points it reached
        ("60.5", "4.0"),
    ],
)
def test_the_buyer_facing_score_at_every_boundary(merchant, buyer):
    assert buyer_facing_score(D(merchant)) == D(buyer)


@pytest.mark.parametrize("merchant", ["49.99", "0", "100.01", "120"])
def test_a_merchant_score_outside_50_to_100_is_refused(merchant):
    with pytest.raises(ValueError, match="50–100"):
        buyer_facing_score(D(merchant))


def test_no_merchant_score_has_no_buyer_facing_score():
    assert buyer_facing_score(None) is None


DOUYIN_2026_LIKE = ScorecardSpec(
    name="商家体验分 2026",
    version="test",
    buyer_scale=BuyerScale.DOUYIN,
    min_valid_orders=30,
    few_orders_score=70,
    deduction_per_incident=D(3),
    max_deduction=D(15),
    dimensions=(
        DimensionSpec("服务体验", D(100), (metric("pickup_24h_rate", 100, HIGHER, Unit.PERCENT, PICKUP_STEPS),)),
    ),
)


def test_fewer_than_30_valid_orders_get_a_fixed_70_whatever_the_figures():
    best = {"pickup_24h_rate": D("1.0000")}

    few = scorecard_score(best, DOUYIN_2026_LIKE, valid_paid_orders=29, incidents=2)
    enough = scorecard_score(best, DOUYIN_2026_LIKE, valid_paid_orders=30)

    assert few.total == D("70.00")
    assert few.is_fixed_for_few_orders
    assert few.deduction == 0
    assert few.buyer_facing == D("4.3")
    assert enough.total == D("100.00")
    assert not enough.is_fixed_for_few_orders


def test_the_fixed_70_applies_even_without_any_figure():
    assert scorecard_score({}, DOUYIN_2026_LIKE, valid_paid_orders=0).total == D("70.00")


def test_a_scorecard_without_the_order_rule_never_fixes_the_score():
    result = scorecard_score(FIGURES, DOUYIN_LIKE, valid_paid_orders=0)

    assert result.total == D("83.77")
    assert not result.is_fixed_for_few_orders


@pytest.mark.parametrize(
    ("incidents", "deduction", "total"),
    [
        (0, "0", "100.00"),
        (1, "3", "97.00"),
        (4, "12", "88.00"),
        (5, "15", "85.00"),
        (6, "15", "85.00"),
        (20, "15", "85.00"),
    ],
)
def test_deductions_are_3_per_incident_and_at_most_15(incidents, deduction, total):
    result = scorecard_score(
        {"pickup_24h_rate": D("0.9900")}, DOUYIN_2026_LIKE, valid_paid_orders=100, incidents=incidents
    )

    assert result.deduction == D(deduction)
    assert result.total == D(total)
    assert result.weighted_score == D("100.00")


def test_deductions_never_take_the_score_below_50():
    """79% pickup reaches no step: 50; five incidents would make 35."""
    result = scorecard_score({"pickup_24h_rate": D("0.7900")}, DOUYIN_2026_LIKE, valid_paid_orders=100, incidents=5)

    assert result.weighted_score == D("50.00")
    assert result.total == D("50.00")
    assert result.buyer_facing == D("3.0")


def test_the_deduction_formula_on_its_own():
    assert deduction_for(2, D(3), D(15)) == D(6)
    assert deduction_for(7, D(3), D(15)) == D(15)
    assert deduction_for(7, D(0), D(0)) == D(0)


# --- the seeds ------------------------------------------------------------------------------------------------------

SEEDED = [("douyin", "2024-06-03"), ("douyin", "103956"), ("tmall", "20009524"), ("taobao", "20009524")]


def seeded(platform, version):
    return Scorecard.objects.with_metrics().get(platform__code=platform, version=version)


@pytest.mark.django_db
@pytest.mark.parametrize(("platform", "version"), SEEDED)
def test_the_seeded_scorecards_weigh_100_per_scorecard_and_per_dimension_with_monotonic_steps(platform, version):
    scorecard = seeded(platform, version)
    dimensions = list(scorecard.dimensions.all())

    assert scorecard.is_default_thresholds
    assert len(dimensions) == 3
    assert sum(dimension.weight for dimension in dimensions) == 100
    for dimension in dimensions:
        metrics = list(dimension.metrics.all())
        assert metrics, dimension.name
        assert sum(metric.weight for metric in metrics) == 100, dimension.name
        for scorecard_metric in metrics:
            assert scorecard_metric.code in MetricCode.values
            assert scorecard_metric.unit == METRIC_UNITS[scorecard_metric.code]
            metric_steps = [step.as_step() for step in scorecard_metric.steps.all()]
            assert sorted(step.score for step in metric_steps) == [60, 70, 80, 90, 100]
            assert steps_are_monotonic(metric_steps, scorecard_metric.direction), scorecard_metric.code
            assert len({step.threshold for step in metric_steps}) == 5, scorecard_metric.code  # strictly


@pytest.mark.django_db
def test_the_seed_004_scorecard_has_the_articles_dimensions_and_metrics():
    scorecard = seeded("douyin", "2024-06-03")

    shape = [
        (dimension.name, dimension.weight, [metric.code for metric in dimension.metrics.all()])
        for dimension in scorecard.dimensions.all()
    ]
    assert shape == [
        ("商品体验", D(40), ["negative_review_rate", "quality_return_rate"]),
        ("物流体验", D(20), ["pickup_24h_rate", "delivery_time", "shipping_negative_feedback_rate"]),
        (
            "服务体验",
            D(40),
            ["refund_only_merchant_time", "return_merchant_time", "rejection_rate", "platform_help_rate"],
        ),
    ]
    service = scorecard.dimensions.get(name="服务体验")
    # 飞鸽 belongs to the 2026 rule only; the four of the article share the dimension equally.
    assert [metric.weight for metric in service.metrics.all()] == [D(25)] * 4


@pytest.mark.django_db
def test_the_douyin_2026_scorecard_carries_its_rules_and_sub_metrics():
    scorecard = seeded("douyin", "103956")
    codes = {metric.code for dimension in scorecard.dimensions.all() for metric in dimension.metrics.all()}

    assert str(scorecard.effective_from) == "2026-05-07"
    assert (scorecard.min_valid_orders, scorecard.few_orders_score) == (30, 70)
    assert (scorecard.deduction_per_incident, scorecard.max_deduction) == (D(3), D(15))
    assert scorecard.buyer_scale == BuyerScale.DOUYIN
    assert "2026-07-14" in scorecard.notes
    # 揽收时长平均得分 and 运单配送时效达成率 are the platform's own scores (migration 0014): named, not graded.
    assert "揽收时长平均得分" in scorecard.notes
    assert [metric.weight for metric in scorecard.dimensions.get(name="物流体验").metrics.all()] == [D(100)]
    assert codes == {
        "product_rating",
        "quality_return_rate",
        "logistics_quality_return_rate",
        "merchant_review_time",
        "chat_response_time",
        "chat_dissatisfaction_rate",
        "help_escalation_rate",
    }


@pytest.mark.django_db
def test_the_tmall_and_taobao_scorecards_carry_rule_20009524():
    for platform in ("tmall", "taobao"):
        scorecard = seeded(platform, "20009524")
        codes = {metric.code for dimension in scorecard.dimensions.all() for metric in dimension.metrics.all()}
        assert str(scorecard.effective_from) == "2026-03-05"
        assert scorecard.min_valid_orders is None
        assert scorecard.buyer_scale == BuyerScale.NONE
        assert codes == {
            "negative_feedback_rate",
            "positive_review_rate",
            "pickup_48h_rate",
            "arrival_time",
            "logistics_negative_review_rate",
            "chat_3min_response_rate",
            "chat_satisfaction_rate",
            "refund_handling_time",
            "platform_contact_rate",
        }


@pytest.mark.django_db
def test_the_seeded_scorecard_scores_the_hand_worked_figures_alike(django_assert_num_queries):
    """Seed 004's defaults are the thresholds of DOUYIN_LIKE, but its 服务体验 has the article's four metrics, 25 each
    (no 飞鸽, which is the 2026 rule's), and there is no buyer scale: 服务体验 = (90 + 100 + 70 + 100) ÷ 4 = 90;
    total = 0.4×85 + 0.2×72.857142… + 0.4×90 = 34 + 14.571428… + 36 = 84.571428… → 84.57."""
    with django_assert_num_queries(4):
        spec = seeded("douyin", "2024-06-03").to_spec()

    result = scorecard_score(FIGURES, spec)

    assert [dimension.score for dimension in result.dimensions] == [D("85.00"), D("72.86"), D("90.00")]
    assert result.total == D("84.57")
    assert result.buyer_facing is None
    assert result.is_default_thresholds


@pytest.mark.django_db
def test_seeding_again_duplicates_nothing_and_keeps_edits():
    seed = importlib.import_module("metrics.migrations.0004_seed_scorecards")
    step = ScoreStep.objects.filter(metric__dimension__scorecard__version="103956").first()
    ScoreStep.objects.filter(pk=step.pk).update(threshold=step.threshold + 1)
    counts = [model.objects.count() for model in (Scorecard, ScorecardDimension, ScorecardMetric, ScoreStep)]

    seed.seed_scorecards(apps, None)

    assert [model.objects.count() for model in (Scorecard, ScorecardDimension, ScorecardMetric, ScoreStep)] == counts
    assert ScoreStep.objects.get(pk=step.pk).threshold == step.threshold + 1


@pytest.mark.django_db
def test_the_seed_reverses_and_seeds_again():
    seed = importlib.import_module("metrics.migrations.0004_seed_scorecards")
    shop = ShopFactory(platform=Platform.objects.get(code="douyin"))
    ShopScorecard.objects.create(shop=shop, scorecard=seeded("douyin", "103956"))

    seed.remove_scorecards(apps, None)

    assert not Scorecard.objects.exists()
    assert not ScoreStep.objects.exists()
    seed.seed_scorecards(apps, None)
    assert sorted(Scorecard.objects.values_list("platform__code", "version")) == sorted(SEEDED)


# --- the models' own checks -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_metric_in_the_wrong_unit_is_refused():
    dimension = seeded("douyin", "2024-06-03").dimensions.first()
    wrong = ScorecardMetric(dimension=dimension, code="dispute_rate", weight=D(10), direction=LOWER, unit=Unit.HOURS)

    with pytest.raises(ValidationError) as refusal:
        wrong.full_clean()

    assert "unit" in refusal.value.message_dict


@pytest.mark.django_db
def test_a_metric_cannot_be_twice_in_one_scorecard():
    scorecard = seeded("douyin", "2024-06-03")
    other_dimension = scorecard.dimensions.get(name="物流体验")
    twice = ScorecardMetric(
        dimension=other_dimension, code="quality_return_rate", weight=D(10), direction=LOWER, unit=Unit.PERCENT
    )

    with pytest.raises(ValidationError) as refusal:
        twice.full_clean()

    assert "code" in refusal.value.message_dict


@pytest.mark.django_db
def test_a_shop_takes_only_a_scorecard_of_its_platform():
    shop = ShopFactory()  # Tmall
    choice = ShopScorecard(shop=shop, scorecard=seeded("douyin", "103956"))

    with pytest.raises(ValidationError):
        choice.full_clean()
    ShopScorecard(shop=shop, scorecard=seeded("tmall", "20009524")).full_clean()


# --- a shop's own thresholds ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_shops_own_steps_replace_the_scorecards_steps_of_that_metric_only():
    """The shop's back office says 48小时揽收及时率 100 from 95% and 60 from 80%, nothing between. The seeded defaults
    are 99/97/95/92/90 for 100/90/80/70/60: 96% is 100 for this shop but 80 by default; 85% is 60 for this shop but
    the floor 50 by default (it reaches no default step)."""
    shop = ShopFactory()
    scorecard = seeded("tmall", "20009524")
    choice = ShopScorecard.objects.create(shop=shop, scorecard=scorecard)
    pickup = ScorecardMetric.objects.get(dimension__scorecard=scorecard, code="pickup_48h_rate")
    ShopScoreStep.objects.create(shop_scorecard=choice, metric=pickup, score=100, threshold=D(95))
    ShopScoreStep.objects.create(shop_scorecard=choice, metric=pickup, score=60, threshold=D(80))

    own = scorecard_score({"pickup_48h_rate": D("0.96"), "arrival_time": D(60)}, choice.to_spec())
    default = scorecard_score({"pickup_48h_rate": D("0.96"), "arrival_time": D(60)}, scorecard.to_spec())
    lower = scorecard_score({"pickup_48h_rate": D("0.85")}, choice.to_spec())
    lower_by_default = scorecard_score({"pickup_48h_rate": D("0.85")}, scorecard.to_spec())

    assert by_code(own)["pickup_48h_rate"].step == 100
    assert by_code(own)["pickup_48h_rate"].has_shop_thresholds
    assert by_code(own)["arrival_time"].step == 100  # untouched metric: the scorecard's steps
    assert not by_code(own)["arrival_time"].has_shop_thresholds
    assert by_code(default)["pickup_48h_rate"].step == 80
    assert by_code(lower)["pickup_48h_rate"].step == 60
    assert by_code(lower_by_default)["pickup_48h_rate"].step == 50


@pytest.mark.django_db
def test_a_shops_steps_for_another_scorecard_are_kept_but_not_used():
    shop = ShopFactory(platform=Platform.objects.get(code="douyin"))
    old, new = seeded("douyin", "2024-06-03"), seeded("douyin", "103956")
    choice = ShopScorecard.objects.create(shop=shop, scorecard=old)
    old_metric = ScorecardMetric.objects.get(dimension__scorecard=old, code="quality_return_rate")
    ShopScoreStep.objects.create(shop_scorecard=choice, metric=old_metric, score=100, threshold=D(5))
    choice.scorecard = new
    choice.save()

    result = scorecard_score({"quality_return_rate": D("0.04")}, choice.to_spec())

    assert by_code(result)["quality_return_rate"].step == 50  # 4% against the new scorecard's defaults
    assert ShopScoreStep.objects.filter(shop_scorecard=choice).count() == 1


# --- the admin ------------------------------------------------------------------------------------------------------


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def manager(shop):
    return make_staff("manager", role=roles.MANAGER, shops=[shop])


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def page_urls():
    scorecard = Scorecard.objects.get(platform__code="douyin", version="103956")
    scorecard_metric = ScorecardMetric.objects.filter(dimension__scorecard=scorecard).first()
    return [
        SCORECARDS,
        reverse("admin:metrics_scorecard_change", args=[scorecard.pk]),
        reverse("admin:metrics_scorecard_add"),
        METRICS,
        reverse("admin:metrics_scorecardmetric_change", args=[scorecard_metric.pk]),
        reverse("admin:metrics_scorecardmetric_add"),
        SHOP_SCORECARDS,
        reverse("admin:metrics_shopscorecard_add"),
    ]


@pytest.mark.django_db
def test_the_scorecard_pages_open_for_a_manager(client, shop, manager):
    choice = ShopScorecard.objects.create(shop=shop, scorecard=seeded("tmall", "20009524"))
    client.force_login(manager)

    for url in [*page_urls(), reverse("admin:metrics_shopscorecard_change", args=[choice.pk])]:
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_a_supervisor_may_read_the_scorecards_but_not_add_one(client, shop):
    client.force_login(make_staff("lead", role=roles.SUPERVISOR, shops=[shop]))

    assert client.get(SCORECARDS).status_code == 200
    assert client.get(METRICS).status_code == 200
    assert client.get(reverse("admin:metrics_scorecard_add")).status_code == 403


@pytest.mark.django_db
def test_a_supervisor_reads_a_shops_scorecard_choice_without_a_form_to_change_it(client, shop):
    """The supervisor may view, not change, the choice: the page shows it read-only (it raised KeyError)."""
    choice = ShopScorecard.objects.create(shop=shop, scorecard=seeded("tmall", "20009524"))
    client.force_login(make_staff("lead", role=roles.SUPERVISOR, shops=[shop]))

    response = client.get(reverse("admin:metrics_shopscorecard_change", args=[choice.pk]))

    assert response.status_code == 200
    assert 'name="scorecard"' not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [roles.AGENT, roles.WAREHOUSE])
def test_the_scorecard_pages_are_refused_to_an_agent_and_the_warehouse(client, shop, role):
    client.force_login(make_staff("someone", role=role, shops=[shop]))

    for url in page_urls():
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_default_thresholds_are_flagged_on_the_list_and_the_pages_until_unticked(client, manager):
    scorecard = seeded("douyin", "103956")
    scorecard_metric = ScorecardMetric.objects.filter(dimension__scorecard=scorecard).first()
    change = reverse("admin:metrics_scorecard_change", args=[scorecard.pk])
    metric_change = reverse("admin:metrics_scorecardmetric_change", args=[scorecard_metric.pk])
    client.force_login(manager)

    assert client.get(SCORECARDS).content.decode().count("desk-default-thresholds") == 4
    assert "desk-default-thresholds" in client.get(change).content.decode()
    assert "desk-default-thresholds" in client.get(metric_change).content.decode()
    Scorecard.objects.filter(pk=scorecard.pk).update(is_default_thresholds=False)
    assert client.get(SCORECARDS).content.decode().count("desk-default-thresholds") == 3
    assert "desk-default-thresholds" not in client.get(change).content.decode()
    assert "desk-default-thresholds" not in client.get(metric_change).content.decode()


@pytest.mark.django_db
def test_the_scorecard_page_lists_every_metric_with_its_steps(client, manager):
    scorecard = seeded("douyin", "2024-06-03")
    client.force_login(manager)

    page = client.get(reverse("admin:metrics_scorecard_change", args=[scorecard.pk])).content.decode()

    assert page.count('href="/admin/metrics/scorecardmetric/') >= 10
    assert "100: 0.5 · 90: 1 · 80: 1.5 · 70: 2 · 60: 3" in page  # 商品差评率


def management(prefix, total, initial):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def scorecard_post(scorecard, weights):
    data = {
        "platform": scorecard.platform_id,
        "name": scorecard.name,
        "version": scorecard.version,
        "effective_from": str(scorecard.effective_from),
        "notes": scorecard.notes,
        "is_default_thresholds": "on",
        "deduction_per_incident": "0",
        "max_deduction": "0",
        "buyer_scale": "",
        **management("dimensions", len(weights), len(weights)),
    }
    for index, (dimension, weight) in enumerate(zip(scorecard.dimensions.order_by("order"), weights, strict=True)):
        data |= {
            f"dimensions-{index}-id": dimension.pk,
            f"dimensions-{index}-scorecard": scorecard.pk,
            f"dimensions-{index}-name": dimension.name,
            f"dimensions-{index}-weight": weight,
            f"dimensions-{index}-order": dimension.order,
        }
    return data


@pytest.mark.django_db
def test_dimension_weights_must_add_up_to_100(client, manager):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are checked in English
    scorecard = seeded("tmall", "20009524")
    url = reverse("admin:metrics_scorecard_change", args=[scorecard.pk])
    client.force_login(manager)

    refused = client.post(url, scorecard_post(scorecard, ["40", "30", "20"]))
    accepted = client.post(url, scorecard_post(scorecard, ["50", "25", "25"]))

    assert refused.status_code == 200
    assert "must add up to 100%" in refused.content.decode()
    assert accepted.status_code == 302
    assert list(scorecard.dimensions.order_by("order").values_list("weight", flat=True)) == [D(50), D(25), D(25)]


def metric_post(scorecard_metric, thresholds):
    data = {
        "dimension": scorecard_metric.dimension_id,
        "code": scorecard_metric.code,
        "weight": str(scorecard_metric.weight),
        "direction": scorecard_metric.direction,
        "unit": scorecard_metric.unit,
        "order": scorecard_metric.order,
        **management("steps", len(thresholds), len(thresholds)),
    }
    for index, step in enumerate(scorecard_metric.steps.order_by("-score")):
        data |= {
            f"steps-{index}-id": step.pk,
            f"steps-{index}-metric": scorecard_metric.pk,
            f"steps-{index}-score": step.score,
            f"steps-{index}-threshold": thresholds[index],
        }
    return data


@pytest.mark.django_db
def test_steps_out_of_order_for_the_metrics_direction_are_refused(client, manager):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are checked in English
    scorecard_metric = ScorecardMetric.objects.get(dimension__scorecard__version="2024-06-03", code="pickup_24h_rate")
    url = reverse("admin:metrics_scorecardmetric_change", args=[scorecard_metric.pk])
    client.force_login(manager)

    refused = client.post(url, metric_post(scorecard_metric, ["80", "85", "90", "95", "98"]))  # reversed
    accepted = client.post(url, metric_post(scorecard_metric, ["99", "96", "93", "88", "82"]))

    assert refused.status_code == 200
    assert "A higher score must need a better value" in refused.content.decode()
    assert accepted.status_code == 302
    assert list(scorecard_metric.steps.order_by("-score").values_list("threshold", flat=True)) == [
        D(99),
        D(96),
        D(93),
        D(88),
        D(82),
    ]


@pytest.mark.django_db
def test_a_manager_picks_a_scorecard_only_of_the_shops_platform(client, shop, manager):
    client.force_login(manager)
    add = reverse("admin:metrics_shopscorecard_add")

    refused = client.post(add, {"shop": shop.pk, "scorecard": seeded("douyin", "103956").pk})
    accepted = client.post(add, {"shop": shop.pk, "scorecard": seeded("tmall", "20009524").pk})

    assert refused.status_code == 200
    assert not ShopScorecard.objects.filter(shop=shop, scorecard__platform__code="douyin").exists()
    assert accepted.status_code == 302
    assert ShopScorecard.objects.get(shop=shop).scorecard.version == "20009524"


@pytest.mark.django_db
def test_a_manager_enters_the_shops_own_steps_in_order(client, shop, manager):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are checked in English
    choice = ShopScorecard.objects.create(shop=shop, scorecard=seeded("tmall", "20009524"))
    pickup = ScorecardMetric.objects.get(dimension__scorecard=choice.scorecard, code="pickup_48h_rate")
    url = reverse("admin:metrics_shopscorecard_change", args=[choice.pk])
    client.force_login(manager)

    def post(thresholds):
        data = {"shop": shop.pk, "scorecard": choice.scorecard_id, **management("steps", 2, 0)}
        for index, (score, threshold) in enumerate(zip((100, 60), thresholds, strict=True)):
            data |= {
                f"steps-{index}-metric": pickup.pk,
                f"steps-{index}-score": score,
                f"steps-{index}-threshold": threshold,
            }
        return client.post(url, data)

    refused = post(["80", "95"])
    assert refused.status_code == 200
    assert not ShopScoreStep.objects.exists()
    assert post(["95", "80"]).status_code == 302
    assert sorted(ShopScoreStep.objects.values_list("score", "threshold")) == [(60, D(80)), (100, D(95))]
    assert "the shop&#x27;s own" in client.get(url).content.decode()


@pytest.mark.django_db
def test_the_shops_scorecards_list_only_the_users_shops(client, shop, manager):
    scorecard = seeded("tmall", "20009524")
    mine = ShopScorecard.objects.create(shop=shop, scorecard=scorecard)
    ShopScorecard.objects.create(shop=ShopFactory(name="别人的店"), scorecard=scorecard)
    client.force_login(manager)

    response = client.get(SHOP_SCORECARDS)

    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
    assert "别人的店" not in response.content.decode()


def add_scorecards(count, start):
    tmall = Platform.objects.get(code="tmall")
    for number in range(start, start + count):
        scorecard = Scorecard.objects.create(
            platform=tmall, name=f"卡{number}", version=f"v{number}", effective_from="2026-01-01"
        )
        dimension = ScorecardDimension.objects.create(scorecard=scorecard, name="服务体验", weight=D(100))
        scorecard_metric = ScorecardMetric.objects.create(
            dimension=dimension, code="rejection_rate", weight=D(100), direction=LOWER, unit=Unit.PERCENT
        )
        ScoreStep.objects.bulk_create(
            ScoreStep(metric=scorecard_metric, score=score, threshold=D(index))
            for index, score in enumerate((100, 90, 80))
        )


@pytest.mark.django_db
def test_the_scorecard_and_metric_lists_run_the_same_queries_for_3_and_for_30(client, manager):
    Scorecard.objects.all().delete()
    client.force_login(manager)
    add_scorecards(3, 0)
    few_scorecards, _response = count_queries(client, SCORECARDS)
    few_metrics, _response = count_queries(client, METRICS)
    add_scorecards(27, 3)

    many_scorecards, scorecards = count_queries(client, SCORECARDS)
    many_metrics, metrics = count_queries(client, METRICS)

    assert len(scorecards.context["cl"].result_list) == 30
    assert len(metrics.context["cl"].result_list) == 30
    assert many_scorecards == few_scorecards
    assert many_metrics == few_metrics


@pytest.mark.django_db
def test_the_shops_scorecards_list_runs_the_same_queries_for_3_and_for_30(client, manager):
    scorecard = seeded("tmall", "20009524")
    pickup = ScorecardMetric.objects.get(dimension__scorecard=scorecard, code="pickup_48h_rate")

    def add_shops(count):
        for _ in range(count):
            choice = ShopScorecard.objects.create(shop=ShopFactory(), scorecard=scorecard)
            ShopScoreStep.objects.create(shop_scorecard=choice, metric=pickup, score=100, threshold=D(95))
            ShopScoreStep.objects.create(shop_scorecard=choice, metric=pickup, score=60, threshold=D(80))
            shop_assign_user(shop=choice.shop, user=manager)

    client.force_login(manager)
    add_shops(3)
    few, _response = count_queries(client, SHOP_SCORECARDS)
    add_shops(27)
    many, response = count_queries(client, SHOP_SCORECARDS)

    rows = list(response.context["cl"].result_list)
    assert len(rows) == 30
    assert {row.own_step_count for row in rows} == {2}
    assert many == few
