"""The platforms' scorecards of DESIGN §5, seeded once.

The metric sets and the dimension weights are the published ones. The thresholds are per industry and shown only in
the seller's back office, and the weights of metrics inside a dimension are not published: both are plausible
defaults, and each scorecard is flagged `is_default_thresholds` so the admin says so until someone replaces them.
A scorecard that already exists (same platform and version) is left as it is, edits included.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

HIGHER = "higher_is_better"
LOWER = "lower_is_better"
SCORES = (100, 90, 80, 70, 60)  # below the 60 step is 50, the floor

# A dimension is (name, weight %, metrics); a metric is (code, weight in the dimension %, direction, unit,
# thresholds for 100, 90, 80, 70, 60). Rates in percent, as the back offices show them.
QUALITY_RETURN_STEPS = ["0.3", "0.6", "1.0", "1.5", "2.5"]
CHAT_RESPONSE_STEPS = ["15", "30", "45", "60", "90"]

DOUYIN_SEED_004 = {
    "platforms": ["douyin"],
    "name": "商家体验分",
    "version": "2024-06-03",
    "effective_from": date(2024, 6, 3),
    "notes": (
        "As the article 抖音小店新规6月3号更新标准考核 (seed 004) describes it. The article gives no year; the posts "
        "around it are dated 2024-05, so 2024-06-03 is assumed. Dimension weights 40/20/40 are the article's; the "
        "weights inside each dimension and all thresholds are plausible defaults. 商品品质退货率 counts the buyer's "
        "first reason, 售后拒绝率 the last valid result."
    ),
    "dimensions": [
        (
            "商品体验",
            "40",
            [
                ("negative_review_rate", "50", LOWER, "percent", ["0.5", "1.0", "1.5", "2.0", "3.0"]),
                ("quality_return_rate", "50", LOWER, "percent", QUALITY_RETURN_STEPS),
            ],
        ),
        (
            "物流体验",
            "20",
            [
                ("pickup_24h_rate", "40", HIGHER, "percent", ["98", "95", "90", "85", "80"]),
                ("delivery_time", "30", LOWER, "hours", ["48", "60", "72", "84", "96"]),
                ("shipping_negative_feedback_rate", "30", LOWER, "percent", ["0.05", "0.1", "0.2", "0.3", "0.5"]),
            ],
        ),
        (
            "服务体验",
            "40",
            [
                ("refund_only_merchant_time", "20", LOWER, "hours", ["2", "4", "8", "12", "24"]),
                ("return_merchant_time", "20", LOWER, "hours", ["24", "36", "48", "60", "72"]),
                ("rejection_rate", "20", LOWER, "percent", ["1", "2", "3", "5", "8"]),
                ("platform_help_rate", "20", LOWER, "percent", ["0.1", "0.2", "0.3", "0.5", "1.0"]),
                ("chat_response_time", "20", LOWER, "seconds", CHAT_RESPONSE_STEPS),
            ],
        ),
    ],
}

DOUYIN_2026 = {
    "platforms": ["douyin"],
    "name": "商家体验分 2026",
    "version": "103956",
    "effective_from": date(2026, 5, 7),
    "notes": (
        "Douyin rule 103956, in force 2026-05-07, revised 2026-07-14 (售后平均审核时长: Σ review time ÷ successfully "
        "refunded after-sales, application → agreement, for returns → agreeing the return; applications 23:00–08:00 "
        "count from 08:00). Score 50–100 for shops with ≥ 30 valid paid orders in 30 days, fewer: a fixed 70; "
        "−3 per incident, at most −15 in 30 days. Weights per industry are published separately: 40/20/40 as seed "
        "004 until you enter your industry's. Weights inside each dimension and all thresholds are plausible defaults."
    ),
    "min_valid_orders": 30,
    "few_orders_score": 70,
    "deduction_per_incident": Decimal("3"),
    "max_deduction": Decimal("15"),
    "buyer_scale": "douyin_3_to_5",
    "dimensions": [
        (
            "商品体验",
            "40",
            [
                ("product_rating", "50", HIGHER, "points", ["4.8", "4.7", "4.6", "4.5", "4.3"]),
                ("quality_return_rate", "50", LOWER, "percent", QUALITY_RETURN_STEPS),
            ],
        ),
        (
            "物流体验",
            "20",
            [
                ("pickup_time_score", "40", HIGHER, "points", ["95", "90", "85", "80", "70"]),
                ("delivery_on_time_rate", "30", HIGHER, "percent", ["95", "92", "88", "85", "80"]),
                ("logistics_quality_return_rate", "30", LOWER, "percent", ["0.1", "0.2", "0.3", "0.5", "0.8"]),
            ],
        ),
        (
            "服务体验",
            "40",
            [
                ("merchant_review_time", "25", LOWER, "hours", ["4", "8", "12", "24", "36"]),
                ("chat_response_time", "25", LOWER, "seconds", CHAT_RESPONSE_STEPS),
                ("chat_dissatisfaction_rate", "25", LOWER, "percent", ["1", "2", "3", "5", "8"]),
                ("help_escalation_rate", "25", LOWER, "percent", ["1", "2", "3", "5", "8"]),
            ],
        ),
    ],
}

TMALL_TAOBAO_2026 = {
    "platforms": ["tmall", "taobao"],
    "name": "店铺真实体验分",
    "version": "20009524",
    "effective_from": date(2026, 3, 5),
    "notes": (
        "Tmall/Taobao rule 20009524, effective 2026-03-05. The platform shows the score on its own scale; here it is "
        "graded 50–100 like the other scorecards. Dimension weights, weights inside the dimensions and all "
        "thresholds are plausible defaults. 纠纷退款率 (refunds the platform ruled for the buyer ÷ paid orders, "
        "commonly at most 3× the category average) is a gate beside the score, not weighted here."
    ),
    "dimensions": [
        (
            "商品体验",
            "40",
            [
                ("negative_feedback_rate", "60", LOWER, "percent", ["0.5", "1.0", "1.5", "2.5", "4.0"]),
                ("positive_review_rate", "40", HIGHER, "percent", ["98", "96", "94", "92", "90"]),
            ],
        ),
        (
            "物流体验",
            "30",
            [
                ("pickup_48h_rate", "40", HIGHER, "percent", ["99", "97", "95", "92", "90"]),
                ("arrival_time", "30", LOWER, "hours", ["60", "72", "84", "96", "120"]),
                ("logistics_negative_review_rate", "30", LOWER, "percent", ["0.1", "0.2", "0.4", "0.6", "1.0"]),
            ],
        ),
        (
            "服务体验",
            "30",
            [
                ("chat_3min_response_rate", "25", HIGHER, "percent", ["95", "90", "85", "80", "70"]),
                ("chat_satisfaction_rate", "25", HIGHER, "percent", ["98", "95", "92", "90", "85"]),
                ("refund_handling_time", "25", LOWER, "hours", ["12", "24", "36", "48", "72"]),
                ("platform_contact_rate", "25", LOWER, "percent", ["0.1", "0.2", "0.3", "0.5", "1.0"]),
            ],
        ),
    ],
}

SCORECARDS = [DOUYIN_SEED_004, DOUYIN_2026, TMALL_TAOBAO_2026]
RULES = ["min_valid_orders", "few_orders_score", "deduction_per_incident", "max_deduction", "buyer_scale"]


def seed_scorecards(apps, schema_editor):
    platform_model = apps.get_model("aftersales", "Platform")
    scorecard_model = apps.get_model("metrics", "Scorecard")
    for card in SCORECARDS:
        for platform_code in card["platforms"]:
            platform, _created = platform_model.objects.get_or_create(code=platform_code)
            scorecard, created = scorecard_model.objects.get_or_create(
                platform=platform,
                version=card["version"],
                defaults={
                    "name": card["name"],
                    "effective_from": card["effective_from"],
                    "notes": card["notes"],
                    "is_default_thresholds": True,
                    **{rule: card[rule] for rule in RULES if rule in card},
                },
            )
            if created:
                _create_dimensions(apps, scorecard, card["dimensions"])


def _create_dimensions(apps, scorecard, dimensions):
    dimension_model = apps.get_model("metrics", "ScorecardDimension")
    metric_model = apps.get_model("metrics", "ScorecardMetric")
    step_model = apps.get_model("metrics", "ScoreStep")
    for dimension_order, (name, weight, metrics) in enumerate(dimensions, start=1):
        dimension = dimension_model.objects.create(
            scorecard=scorecard, name=name, weight=Decimal(weight), order=dimension_order
        )
        for metric_order, (code, metric_weight, direction, unit, thresholds) in enumerate(metrics, start=1):
            metric = metric_model.objects.create(
                dimension=dimension,
                code=code,
                weight=Decimal(metric_weight),
                direction=direction,
                unit=unit,
                order=metric_order,
            )
            step_model.objects.bulk_create(
                step_model(metric=metric, score=score, threshold=Decimal(threshold))
                for score, threshold in zip(SCORES, thresholds, strict=True)
            )


def remove_scorecards(apps, schema_editor):
    scorecard_model = apps.get_model("metrics", "Scorecard")
    shop_scorecard_model = apps.get_model("metrics", "ShopScorecard")
    for card in SCORECARDS:
        seeded = scorecard_model.objects.filter(platform__code__in=card["platforms"], version=card["version"])
        shop_scorecard_model.objects.filter(scorecard__in=seeded).delete()
        seeded.delete()


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0002_seed_platforms"), ("metrics", "0003_scorecards")]
    operations = [migrations.RunPython(seed_scorecards, remove_scorecards)]
