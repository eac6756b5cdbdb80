"""The courier's row no longer holds a contact or a group robot: those are each shop's, on its agreement (0006 copied
them there). Its answer time and claim terms stay, as the defaults for a shop without an agreement."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("logistics", "0006_courier_agreements_data")]

    operations = [
        migrations.RemoveField(
            model_name="courier",
            name="intercept_contact",
        ),
        migrations.RemoveField(
            model_name="courier",
            name="intercept_contact_phone",
        ),
        migrations.RemoveField(
            model_name="courier",
            name="robot_kind",
        ),
        migrations.RemoveField(
            model_name="courier",
            name="robot_secret",
        ),
        migrations.RemoveField(
            model_name="courier",
            name="robot_webhook_url",
        ),
    ]
