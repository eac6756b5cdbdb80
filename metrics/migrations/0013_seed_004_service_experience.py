"""The seed-004 scorecard (Douyin 商家体验分 as the article describes it) as the article lists it: 服务体验 is 仅退款自主
完结时长, 退货退款自主完结时长, 售后拒绝率 and 平台求助率. 飞鸽 response belongs to Douyin's 2026 rule (103956), not to this
card: its metric is removed, and the four left share the dimension equally (25% each) where they still have the
seeded 20% each. A scorecard someone re-weighted is left with its weights; only the 飞鸽 metric goes.
"""

from decimal import Decimal

from django.db import migrations

PLATFORM = "douyin"
VERSION = "2024-06-03"
DIMENSION = "服务体验"
REMOVED = "chat_response_time"
REMOVED_STEPS = ["15", "30", "45", "60", "90"]  # for 100, 90, 80, 70, 60, as migration 0004 seeded them
SCORES = (100, 90, 80, 70, 60)
SEEDED_WEIGHT = Decimal("20")
WEIGHT = Decimal("25")


def _dimensions(apps):
    dimension_model = apps.get_model("metrics", "ScorecardDimension")
    return dimension_model.objects.filter(
        scorecard__platform__code=PLATFORM, scorecard__version=VERSION, name=DIMENSION
    )


def remove_chat_response(apps, schema_editor):
    for dimension in _dimensions(apps):
        dimension.metrics.filter(code=REMOVED).delete()
        remaining = list(dimension.metrics.all())
        if len(remaining) == 4 and all(metric.weight == SEEDED_WEIGHT for metric in remaining):
            dimension.metrics.update(weight=WEIGHT)


def restore_chat_response(apps, schema_editor):
    metric_model = apps.get_model("metrics", "ScorecardMetric")
    step_model = apps.get_model("metrics", "ScoreStep")
    for dimension in _dimensions(apps):
        if dimension.metrics.filter(code=REMOVED).exists():
            continue
        if all(metric.weight == WEIGHT for metric in dimension.metrics.all()):
            dimension.metrics.update(weight=SEEDED_WEIGHT)
        metric = metric_model.objects.create(
            dimension=dimension,
            code=REMOVED,
            weight=SEEDED_WEIGHT,
            direction="lower_is_better",
            unit="seconds",
            order=5,
        )
        step_model.objects.bulk_create(
            step_model(metric=metric, score=score, threshold=Decimal(threshold))
            for score, threshold in zip(SCORES, REMOVED_STEPS, strict=True)
        )


class Migration(migrations.Migration):
    dependencies = [("metrics", "0012_chat_session_buyer")]
    operations = [migrations.RunPython(remove_chat_response, restore_chat_response)]
