"""Mark the seeded reasons that may involve compensation (涉及赔付, seeds 000 and 001): 未按约定时间发货, for which the
platforms may owe the buyer compensation for late shipping. Editable afterwards; the reverse unmarks only these."""

from django.db import migrations

MAY_OWE_COMPENSATION = ["late_shipping"]


def mark(apps, schema_editor):
    reasons = apps.get_model("aftersales", "ReturnReason").objects.using(schema_editor.connection.alias)
    reasons.filter(code__in=MAY_OWE_COMPENSATION).update(may_owe_compensation=True)


def unmark(apps, schema_editor):
    reasons = apps.get_model("aftersales", "ReturnReason").objects.using(schema_editor.connection.alias)
    reasons.filter(code__in=MAY_OWE_COMPENSATION).update(may_owe_compensation=False)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0039_compensation_reason_flag"),
    ]

    operations = [migrations.RunPython(mark, unmark)]
