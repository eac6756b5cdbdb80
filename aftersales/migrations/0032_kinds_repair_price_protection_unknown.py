"""Every after-sales type a marketplace sends has a home: the repair (维修), price protection (价保) and unknown
kinds, the repair's "in repair" state, the price-difference refund kind, and the platform's own type code."""

import django_fsm
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0031_search_trigram"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="aftersalesticket",
            name="ticket_open_list_order_idx",
        ),
        migrations.AddField(
            model_name="aftersalesticket",
            name="platform_kind",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=40, verbose_name="platform after-sales type"
            ),
        ),
        migrations.AlterField(
            model_name="aftersalesticket",
            name="kind",
            field=models.CharField(
                choices=[
                    ("refund_only", "refund only"),
                    ("return_refund", "return and refund"),
                    ("exchange", "exchange"),
                    ("reship", "reship"),
                    ("compensation", "compensation (partial refund, no return)"),
                    ("repair", "repair"),
                    ("price_protection", "price protection (refund of a price difference)"),
                    ("unknown", "unknown platform type"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="aftersalesticket",
            name="state",
            field=django_fsm.FSMField(
                choices=[
                    ("requested", "requested"),
                    ("intercepting", "intercepting"),
                    ("awaiting_approval", "awaiting approval"),
                    ("awaiting_return", "awaiting return"),
                    ("return_in_transit", "return in transit"),
                    ("received", "return received"),
                    ("repairing", "in repair"),
                    ("refunding", "refunding"),
                    ("rejected", "rejected"),
                    ("platform_review", "platform review"),
                    ("refunded", "refunded"),
                    ("resolved", "resolved"),
                    ("cancelled", "cancelled"),
                    ("closed", "closed"),
                ],
                default="requested",
                max_length=50,
                protected=True,
                verbose_name="state",
            ),
        ),
        migrations.AlterField(
            model_name="approvalrequest",
            name="refund_kind",
            field=models.CharField(
                choices=[
                    ("full", "full refund"),
                    ("partial", "partial refund"),
                    ("compensation", "compensation"),
                    ("shipping_fee", "shipping fee"),
                    ("price_difference", "price difference"),
                ],
                max_length=20,
                verbose_name="refund kind",
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="kind",
            field=models.CharField(
                choices=[
                    ("full", "full refund"),
                    ("partial", "partial refund"),
                    ("compensation", "compensation"),
                    ("shipping_fee", "shipping fee"),
                    ("price_difference", "price difference"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AddIndex(
            model_name="aftersalesticket",
            index=models.Index(
                condition=models.Q(
                    (
                        "state__in",
                        [
                            "requested",
                            "intercepting",
                            "awaiting_approval",
                            "awaiting_return",
                            "return_in_transit",
                            "received",
                            "repairing",
                            "refunding",
                            "rejected",
                            "platform_review",
                        ],
                    )
                ),
                fields=["-escalation_risk", "deadline", "id"],
                name="ticket_open_list_order_idx",
            ),
        ),
    ]
