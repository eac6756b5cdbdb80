"""The four role groups come from data migrations with exactly the model permissions their work needs."""

import pytest
from django.contrib.auth.models import Group

from aftersales import roles

pytestmark = pytest.mark.django_db

EXPECTED = {
    roles.AGENT: {
        "aftersales.view_shop",
        "aftersales.view_order",
        "aftersales.view_orderline",
        "aftersales.view_aftersalesticket",
        "aftersales.view_refund",
        "aftersales.view_approvalrequest",
        "aftersales.view_ticketevent",
        "aftersales.view_cutoffrequest",
        "aftersales.view_returnreason",
        "aftersales.view_refundauthority",
        "aftersales.add_aftersalesticket",
        "aftersales.work_ticket",
        "warehouse.view_returnparcel",
        "warehouse.view_inspection",
        "warehouse.view_inspectionline",
        "warehouse.view_evidence",
        "warehouse.view_earlyexchange",
        "warehouse.view_earlyexchangerule",
        "logistics.view_courier",
    },
    roles.SUPERVISOR: {
        "aftersales.view_shop",
        "aftersales.view_order",
        "aftersales.add_order",
        "aftersales.change_order",
        "aftersales.view_orderline",
        "aftersales.add_orderline",
        "aftersales.change_orderline",
        "aftersales.view_aftersalesticket",
        "aftersales.view_refund",
        "aftersales.view_approvalrequest",
        "aftersales.view_ticketevent",
        "aftersales.view_cutoffrequest",
        "aftersales.view_returnreason",
        "aftersales.view_refundauthority",
        "aftersales.add_aftersalesticket",
        "aftersales.work_ticket",
        "aftersales.decide_approvalrequest",
        "aftersales.add_returnreason",
        "aftersales.change_returnreason",
        "aftersales.view_escalationword",
        "aftersales.add_escalationword",
        "aftersales.change_escalationword",
        "aftersales.add_refundauthority",
        "aftersales.change_refundauthority",
        "warehouse.view_returnparcel",
        "warehouse.view_inspection",
        "warehouse.view_inspectionline",
        "warehouse.view_evidence",
        "warehouse.view_earlyexchange",
        "warehouse.view_earlyexchangerule",
        "logistics.view_courier",
    },
    roles.WAREHOUSE: {
        "aftersales.view_order",
        "aftersales.view_orderline",
        "aftersales.view_aftersalesticket",
        "aftersales.handle_returns",
        "aftersales.view_cutoffrequest",
        "aftersales.confirm_cutoffrequest",
        "warehouse.view_returnparcel",
        "warehouse.view_inspection",
        "warehouse.view_inspectionline",
        "warehouse.view_evidence",
        "warehouse.view_earlyexchange",
        "logistics.view_courier",
    },
    roles.MANAGER: {
        "aftersales.view_platform",
        "aftersales.change_platform",
        "aftersales.view_shop",
        "aftersales.change_shop",
        "aftersales.view_order",
        "aftersales.add_order",
        "aftersales.change_order",
        "aftersales.view_orderline",
        "aftersales.add_orderline",
        "aftersales.change_orderline",
        "aftersales.view_aftersalesticket",
        "aftersales.view_refund",
        "aftersales.view_approvalrequest",
        "aftersales.view_ticketevent",
        "aftersales.view_cutoffrequest",
        "aftersales.view_returnreason",
        "aftersales.view_refundauthority",
        "aftersales.add_returnreason",
        "aftersales.change_returnreason",
        "aftersales.view_escalationword",
        "aftersales.add_escalationword",
        "aftersales.change_escalationword",
        "aftersales.add_refundauthority",
        "aftersales.change_refundauthority",
        "warehouse.view_returnparcel",
        "warehouse.view_inspection",
        "warehouse.view_inspectionline",
        "warehouse.view_evidence",
        "warehouse.view_earlyexchange",
        "warehouse.view_earlyexchangerule",
        "warehouse.add_earlyexchangerule",
        "warehouse.change_earlyexchangerule",
        "logistics.view_courier",
        "logistics.add_courier",
        "logistics.change_courier",
    },
}


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_has_exactly_the_permissions_its_work_needs(role):
    group = Group.objects.get(name=role)

    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    assert granted == EXPECTED[role]


def test_no_role_may_delete_anything_or_assign_shops():
    codenames = set(Group.objects.filter(name__in=roles.ROLES).values_list("permissions__codename", flat=True))

    assert not any(codename.startswith("delete_") for codename in codenames)
    assert "work_in_shop" not in codenames  # shops are assigned per object, never granted globally
