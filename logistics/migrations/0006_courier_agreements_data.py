"""Each shop's agreement with each courier it works with, from the courier's one global row, before that row loses its
contact and robot fields (0007); robot messages get the shop their intercept belongs to; role permissions."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {
    "Supervisor": ["view_courieragreement"],
    "Manager": ["view_courieragreement", "add_courieragreement", "change_courieragreement"],
}
COPIED = [
    "intercept_contact",
    "intercept_contact_phone",
    "intercept_answer_minutes",
    "robot_kind",
    "robot_webhook_url",
    "robot_secret",
    "claim_postage_multiple",
    "claim_max_amount",
    "claim_terms",
]


def copy_agreements(apps, schema_editor):
    """An agreement for every (shop, courier) pair with parcels, intercepts or claims, with today's courier values;
    an existing agreement is left as it is."""
    courier_model = apps.get_model("logistics", "Courier")
    agreement_model = apps.get_model("logistics", "CourierAgreement")
    pairs = set()
    for model_name in ("Shipment", "InterceptRequest", "CourierClaim"):
        model = apps.get_model("logistics", model_name)
        pairs |= set(
            model.objects.filter(courier__isnull=False).values_list("shop_id", "courier_id").distinct().order_by()
        )
    couriers = {courier.pk: courier for courier in courier_model.objects.filter(pk__in={c for _s, c in pairs})}
    agreement_model.objects.bulk_create(
        [
            agreement_model(
                shop_id=shop_id,
                courier_id=courier_id,
                **{name: getattr(couriers[courier_id], name) for name in COPIED},
            )
            for shop_id, courier_id in sorted(pairs)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    message_model = apps.get_model("logistics", "RobotMessage")
    intercept_model = apps.get_model("logistics", "InterceptRequest")
    message_model.objects.filter(shop__isnull=True, intercept__isnull=False).update(
        shop_id=Subquery(intercept_model.objects.filter(pk=OuterRef("intercept_id")).values("shop_id")[:1])
    )


def restore_couriers(apps, schema_editor):
    """Back to one row per courier: each courier takes the values of its first agreement (by shop) that has a robot,
    or else its first agreement."""
    courier_model = apps.get_model("logistics", "Courier")
    agreement_model = apps.get_model("logistics", "CourierAgreement")
    for courier in courier_model.objects.all():
        agreements = agreement_model.objects.filter(courier=courier).order_by("shop_id")
        agreement = agreements.exclude(robot_webhook_url="").first() or agreements.first()
        if agreement is not None:
            for name in COPIED:
                setattr(courier, name, getattr(agreement, name))
            courier.save(update_fields=COPIED)


def grant(apps, schema_editor):
    grant_role_permissions(apps, "logistics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", GRANTS)


def forwards(apps, schema_editor):
    copy_agreements(apps, schema_editor)
    grant(apps, schema_editor)


def backwards(apps, schema_editor):
    revoke(apps, schema_editor)
    restore_couriers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0005_courier_agreements")]
    operations = [migrations.RunPython(forwards, backwards)]
