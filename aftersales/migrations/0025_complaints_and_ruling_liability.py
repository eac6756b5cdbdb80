"""Complaints (投诉) recorded as data, and whether a platform ruling held the merchant liable (商责)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0024_order_logistics_flags"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="platformruling",
            name="liability",
            field=models.CharField(
                choices=[
                    ("merchant", "the merchant's liability (商责)"),
                    ("not_merchant", "not the merchant's liability (非商责)"),
                    ("unknown", "not known"),
                ],
                db_default="unknown",
                default="unknown",
                max_length=20,
                verbose_name="liability",
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("corrected", "corrected"),
                    ("updated_by_platform", "updated by import or API"),
                    ("correction_requested", "correction awaits confirmation"),
                    ("correction_declined", "correction declined"),
                    ("complaint_recorded", "complaint recorded"),
                ],
                max_length=40,
                verbose_name="action",
            ),
        ),
        migrations.CreateModel(
            name="Complaint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "platform_complaint_id",
                    models.CharField(blank=True, max_length=64, verbose_name="platform complaint id"),
                ),
                ("opened_at", models.DateTimeField(verbose_name="opened at")),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("platform", "the platform (平台投诉)"),
                            ("regulator", "a regulator (12315 and the like)"),
                            ("other", "other"),
                        ],
                        default="platform",
                        max_length=20,
                        verbose_name="channel",
                    ),
                ),
                (
                    "liability",
                    models.CharField(
                        choices=[
                            ("merchant", "the merchant's liability (商责)"),
                            ("not_merchant", "not the merchant's liability (非商责)"),
                            ("unknown", "not known"),
                        ],
                        default="unknown",
                        max_length=20,
                        verbose_name="liability",
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="recorded at")),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="aftersales.order",
                        verbose_name="order",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
                (
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="aftersales.shop",
                        verbose_name="shop",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="aftersales.aftersalesticket",
                        verbose_name="ticket",
                    ),
                ),
            ],
            options={
                "verbose_name": "complaint",
                "verbose_name_plural": "complaints",
                "ordering": ["-opened_at", "-id"],
                "indexes": [models.Index(fields=["shop", "opened_at"], name="complaint_shop_opened_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("platform_complaint_id", ""), _negated=True),
                        fields=("shop", "platform_complaint_id"),
                        name="complaint_unique_platform_id",
                    )
                ],
            },
        ),
    ]
