"""API tokens that expire, can be revoked and die with a password change (config.models.ApiToken); managers may
see and revoke them in the admin. DRF's never-expiring authtoken tokens stop working (the app is no longer installed)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {"Manager": ["view_apitoken", "change_apitoken"]}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "config", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "config", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0003_idempotency_keys_purge"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True, verbose_name="key hash")),
                ("key_prefix", models.CharField(editable=False, max_length=8, verbose_name="key prefix")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("expires_at", models.DateTimeField(verbose_name="expires at")),
                (
                    "password_fingerprint",
                    models.CharField(editable=False, max_length=64, verbose_name="password fingerprint"),
                ),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked at")),
                (
                    "revoked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="revoked by",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="apitoken_expires_after_created",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
