import django.db.models.deletion
import django.utils.timezone
import django_fsm
from django.conf import settings
from django.db import migrations, models

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# Supervisors and managers read the corrections waiting for a second supervisor and the orders' correction trail;
# deciding one takes decide_approvalrequest (supervisors), as deciding an approval does.
GRANTS = {
    "Supervisor": ["view_ordercorrection", "view_orderevent"],
    "Manager": ["view_ordercorrection", "view_orderevent"],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0017_platform_rulings_and_authority_per_order"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderCorrection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(
                        choices=[("admin", "correction page"), ("import", "order import"), ("api", "API")],
                        max_length=10,
                        verbose_name="source",
                    ),
                ),
                ("changes", models.JSONField(default=dict, verbose_name="changes")),
                ("reason", models.TextField(verbose_name="reason")),
                (
                    "status",
                    django_fsm.FSMField(
                        choices=[
                            ("pending", "pending"),
                            ("confirmed", "confirmed"),
                            ("declined", "declined"),
                            ("superseded", "superseded"),
                        ],
                        default="pending",
                        max_length=50,
                        protected=True,
                        verbose_name="status",
                    ),
                ),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_note", models.TextField(blank=True, verbose_name="decision note")),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="corrections",
                        to="aftersales.order",
                        verbose_name="order",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="aftersales.shop",
                        verbose_name="shop",
                    ),
                ),
            ],
            options={
                "verbose_name": "order correction",
                "verbose_name_plural": "order corrections",
                "ordering": ["-requested_at", "-id"],
            },
            bases=(django_fsm.ConcurrentTransitionMixin, models.Model),
        ),
        migrations.CreateModel(
            name="OrderEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="at")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("corrected", "corrected"),
                            ("updated_by_platform", "updated by import or API"),
                            ("correction_requested", "correction awaits confirmation"),
                            ("correction_declined", "correction declined"),
                        ],
                        max_length=40,
                        verbose_name="action",
                    ),
                ),
                ("changes", models.JSONField(default=dict, verbose_name="changes")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                (
                    "actor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                (
                    "confirmed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="confirmed by",
                    ),
                ),
                (
                    "correction",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="aftersales.ordercorrection",
                        verbose_name="correction",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="aftersales.order",
                        verbose_name="order",
                    ),
                ),
            ],
            options={
                "verbose_name": "order event",
                "verbose_name_plural": "order events",
                "ordering": ["at", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="ordercorrection",
            index=models.Index(fields=["shop", "status", "requested_at"], name="order_correction_queue_idx"),
        ),
        migrations.AddConstraint(
            model_name="ordercorrection",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("decided_by__isnull", True),
                    models.Q(("decided_by", models.F("requested_by")), _negated=True),
                    _connector="OR",
                ),
                name="order_correction_not_decided_by_requester",
            ),
        ),
        migrations.AddConstraint(
            model_name="ordercorrection",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")),
                fields=("order",),
                name="order_correction_one_pending_per_order",
            ),
        ),
        migrations.AddIndex(
            model_name="orderevent",
            index=models.Index(fields=["order", "at"], name="order_event_order_at_idx"),
        ),
        migrations.RunPython(grant, revoke),
    ]
