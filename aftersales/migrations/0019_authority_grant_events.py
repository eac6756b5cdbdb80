import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# Whoever may set authorities reads their trail.
GRANTS = {
    "Supervisor": ["view_authoritygrantevent"],
    "Manager": ["view_authoritygrantevent"],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0018_order_events"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthorityGrantEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "action",
                    models.CharField(
                        choices=[("granted", "granted"), ("changed", "changed"), ("revoked", "revoked")],
                        max_length=10,
                        verbose_name="action",
                    ),
                ),
                (
                    "old_amount",
                    models.DecimalField(
                        blank=True, decimal_places=2, max_digits=12, null=True, verbose_name="old authority (CNY)"
                    ),
                ),
                (
                    "new_amount",
                    models.DecimalField(
                        blank=True, decimal_places=2, max_digits=12, null=True, verbose_name="new authority (CNY)"
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="at")),
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
                    "group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="auth.group",
                        verbose_name="group",
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
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "authority grant event",
                "verbose_name_plural": "authority grant events",
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["shop", "-at"], name="authority_grant_event_shop_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("group__isnull", True), ("user__isnull", False)),
                            models.Q(("group__isnull", False), ("user__isnull", True)),
                            _connector="OR",
                        ),
                        name="authority_grant_event_user_xor_group",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
