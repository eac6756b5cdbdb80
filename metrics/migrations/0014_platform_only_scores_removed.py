"""Douyin 2026's 揽收时长平均得分 and 运单配送时效达成率 are the platform's own scores, computed from data the desk does
not hold (the platform's per-order pickup scoring, its promised delivery times); they had a metric code and no
definition, so they were always "no data". Their codes are removed and so are their rows in the scorecards; in the
seeded 2026 card the 物流体验 dimension keeps 发货物流品退率 alone (100% where it still has its seeded 30%), and the
card's notes say so. Reversible: the reverse puts back the seeded rows and weights.
"""

from decimal import Decimal

from django.db import migrations, models

REMOVED = {
    # code: (seeded weight, direction, unit, thresholds for 100, 90, 80, 70, 60), as migration 0004 seeded them
    "pickup_time_score": (Decimal("40"), "higher_is_better", "points", ["95", "90", "85", "80", "70"]),
    "delivery_on_time_rate": (Decimal("30"), "higher_is_better", "percent", ["95", "92", "88", "85", "80"]),
}
SCORES = (100, 90, 80, 70, 60)
KEPT = "logistics_quality_return_rate"
KEPT_SEEDED_WEIGHT = Decimal("30")
NOTE = (
    " 揽收时长平均得分 and 运单配送时效达成率 are the platform's own scores from data the desk does not hold: they are not "
    "graded here, and 物流体验 is 发货物流品退率 alone."
)


def _card_logistics(apps):
    dimension_model = apps.get_model("metrics", "ScorecardDimension")
    return dimension_model.objects.filter(
        scorecard__platform__code="douyin", scorecard__version="103956", name="物流体验"
    )


def remove_platform_only(apps, schema_editor):
    metric_model = apps.get_model("metrics", "ScorecardMetric")
    for dimension in _card_logistics(apps):
        kept = list(dimension.metrics.exclude(code__in=REMOVED))
        if [(metric.code, metric.weight) for metric in kept] == [(KEPT, KEPT_SEEDED_WEIGHT)]:
            dimension.metrics.filter(code=KEPT).update(weight=Decimal("100"))
        scorecard = dimension.scorecard
        if NOTE not in scorecard.notes:
            scorecard.notes += NOTE
            scorecard.save(update_fields=["notes"])
    metric_model.objects.filter(code__in=REMOVED).delete()


def restore_platform_only(apps, schema_editor):
    metric_model = apps.get_model("metrics", "ScorecardMetric")
    step_model = apps.get_model("metrics", "ScoreStep")
    for dimension in _card_logistics(apps):
        dimension.metrics.filter(code=KEPT, weight=Decimal("100")).update(weight=KEPT_SEEDED_WEIGHT)
        for order, (code, (weight, direction, unit, thresholds)) in enumerate(REMOVED.items(), start=1):
            if dimension.metrics.filter(code=code).exists():
                continue
            metric = metric_model.objects.create(
                dimension=dimension, code=code, weight=weight, direction=direction, unit=unit, order=order
            )
            step_model.objects.bulk_create(
                step_model(metric=metric, score=score, threshold=Decimal(threshold))
                for score, threshold in zip(SCORES, thresholds, strict=True)
            )
        scorecard = dimension.scorecard
        scorecard.notes = scorecard.notes.replace(NOTE, "")
        scorecard.save(update_fields=["notes"])


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0013_seed_004_service_experience"),
    ]

    operations = [
        migrations.RunPython(remove_platform_only, restore_platform_only),
        migrations.AlterField(
            model_name="scorecardmetric",
            name="code",
            field=models.CharField(
                choices=[
                    ("refund_completion_time", "refund completion time (退款完结时长)"),
                    ("refund_only_merchant_time", "refund-only merchant time (仅退款自主完结时长)"),
                    ("return_merchant_time", "return merchant time (退货退款自主完结时长)"),
                    ("dispute_rate", "dispute rate (纠纷率)"),
                    ("quality_refund_rate", "quality refund rate (品质退款率)"),
                    ("experience_refund_rate", "experience refund rate (商品体验退款率)"),
                    ("quality_return_rate", "quality return rate (商品品质退货率)"),
                    ("rejection_rate", "rejection rate (售后拒绝率)"),
                    ("platform_help_rate", "platform help rate (平台求助率)"),
                    ("return_refund_rate", "return-refund rate (退货退款率)"),
                    ("compensation_per_case", "compensation per case (赔偿单价)"),
                    ("repurchase_rate", "repurchase after after-sales (复购率)"),
                    ("first_response_time", "first response time (售后响应时间)"),
                    ("pickup_24h_rate", "24-hour pickup rate (24小时揽收率)"),
                    ("delivery_time", "delivery time (订单配送时长)"),
                    ("negative_review_rate", "negative review rate (商品差评率)"),
                    ("shipping_negative_feedback_rate", "shipping negative feedback rate (发货问题负向反馈率)"),
                    ("chat_response_time", "chat average response time (飞鸽平均响应时长)"),
                    ("product_rating", "product overall rating (商品综合评分)"),
                    ("logistics_quality_return_rate", "shipping and logistics return rate (发货物流品退率)"),
                    ("merchant_review_time", "average review time (售后平均审核时长, Douyin 2026)"),
                    ("chat_dissatisfaction_rate", "chat dissatisfaction rate (飞鸽会话不满意率)"),
                    ("help_escalation_rate", "platform help rate, Douyin 2026 (平台求助率)"),
                    ("negative_feedback_rate", "product negative feedback rate (商品负反馈率)"),
                    ("positive_review_rate", "positive review rate (商品好评率)"),
                    ("pickup_48h_rate", "48-hour pickup rate (48小时揽收及时率)"),
                    ("arrival_time", "arrival time (物流到货时长)"),
                    ("logistics_negative_review_rate", "logistics negative review rate (物流差评率)"),
                    ("chat_3min_response_rate", "Wangwang 3-minute response rate (旺旺3分钟人工响应率)"),
                    ("chat_satisfaction_rate", "Wangwang satisfaction (旺旺满意度)"),
                    ("refund_handling_time", "refund handling time (退款处理时长)"),
                    ("platform_contact_rate", "platform help rate, Tmall (平台求助率)"),
                    ("dispute_refund_rate", "dispute refund rate (纠纷退款率)"),
                ],
                max_length=40,
                verbose_name="metric",
            ),
        ),
    ]
