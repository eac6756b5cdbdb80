"""Each rolled-up day's merchant times per path (DecisionTimes), filled from the decisions already rolled up, so the
dashboard's week-by-week chart reads lists instead of sorting twelve weeks of decisions (and needs no new rollup)."""

from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import django.db.models.deletion
from django.db import migrations, models

CHINA = ZoneInfo("Asia/Shanghai")


def times_from_decisions(apps, schema_editor):
    decision = apps.get_model("metrics", "TicketDecision")
    times = apps.get_model("metrics", "DecisionTimes")
    lists = defaultdict(list)
    rows = decision.objects.values_list("shop_id", "path", "opened_at", "decided_at").iterator(chunk_size=5000)
    for shop_id, path, opened_at, decided_at in rows:
        day = decided_at.astimezone(CHINA).date()
        lists[(shop_id, day, path)].append((decided_at - opened_at) // timedelta(microseconds=1))
    times.objects.bulk_create(
        (
            times(shop_id=shop_id, day=day, path=path, microseconds=sorted(spans))
            for (shop_id, day, path), spans in lists.items()
        ),
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0044_order_list_indexes_scale"),
        ("metrics", "0015_dirty_days_first_reviews"),
    ]

    operations = [
        migrations.CreateModel(
            name="DecisionTimes",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="day")),
                ("path", models.PositiveSmallIntegerField(verbose_name="path")),
                ("microseconds", models.JSONField(default=list, verbose_name="merchant times (µs)")),
                (
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="aftersales.shop",
                        verbose_name="shop",
                    ),
                ),
            ],
            options={
                "verbose_name": "merchant times of a day",
                "verbose_name_plural": "merchant times of a day",
                "constraints": [models.UniqueConstraint(fields=("shop", "day", "path"), name="decision_times_unique")],
            },
        ),
        migrations.RunPython(times_from_decisions, migrations.RunPython.noop),
    ]
