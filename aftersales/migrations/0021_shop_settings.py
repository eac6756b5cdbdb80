import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# The shop's settings become the manager's to change (services.shops), each change a ShopEvent; whoever reads the
# shop's page reads its trail. The deadline warning, a global setting before, is per shop now (default as before: 6).
GRANTS = {
    "Supervisor": ["view_shopevent"],
    "Manager": ["view_shopevent"],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0020_refund_lifecycle"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="deadline_warning_hours",
            field=models.PositiveIntegerField(
                db_default=6,
                default=6,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)],
                verbose_name="hours before the platform deadline to move a ticket to the top",
            ),
        ),
        migrations.AlterField(
            model_name="shop",
            name="approval_due_hours",
            field=models.PositiveIntegerField(
                default=4,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)],
                verbose_name="hours a supervisor has to decide an approval",
            ),
        ),
        migrations.AlterField(
            model_name="shop",
            name="path1_sla_minutes",
            field=models.PositiveIntegerField(
                default=30,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1440),
                ],
                verbose_name="minutes to answer a not-shipped refund",
            ),
        ),
        migrations.AlterField(
            model_name="shop",
            name="sla_hours",
            field=models.PositiveIntegerField(
                default=24,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)],
                verbose_name="hours to answer other requests",
            ),
        ),
        migrations.CreateModel(
            name="ShopEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="at")),
                ("field", models.CharField(max_length=40, verbose_name="setting")),
                ("old_value", models.CharField(max_length=40, verbose_name="old value")),
                ("new_value", models.CharField(max_length=40, verbose_name="new value")),
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
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="aftersales.shop",
                        verbose_name="shop",
                    ),
                ),
            ],
            options={
                "verbose_name": "shop setting change",
                "verbose_name_plural": "shop setting changes",
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["shop", "-at"], name="shop_event_shop_at_idx")],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
