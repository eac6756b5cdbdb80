"""Claims nobody forgets (宁可多登记, seed 004): a refund made after a confirmed intercept registers a claim that waits
for the parcel; the month-end check (月底仓库核对) lists the intercepted and lost parcels never back, a warehouse scan
of one withdraws its claim, and once the month is over the ones still missing go to the courier."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from aftersales.models import Shop
from logistics.claims_sheet import claims_for_sheet
from logistics.models import ClaimCause, CourierClaim, LogisticsEvent
from logistics.services import (
    claims_file_not_back,
    claims_not_back,
    claims_register_waiting_return,
    intercept_confirm,
    intercept_request,
    shipments_declare_lost,
)
from logistics.sweeps import intercept_follow_up_run, no_scan_check_run
from tests.factories import make_staff, open_ticket
from tests.logistics.claim_fixtures import read_sheet
from tests.logistics.parcels import lost_parcel_remedy_set, parcel
from warehouse.services import return_receive_scan

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
# The last evening of November in Beijing (12:00 UTC).
CONFIRMED_AT = datetime(2026, 11, 30, 20, 0, tzinfo=CHINA)


def confirmed_and_refunded(at=CONFIRMED_AT, amount="199.00"):
    with time_machine.travel(at, tick=False):
        shipment = parcel(quiet_for=timedelta(hours=5))
        shop = shipment.shop
        agent = make_staff(f"agent{shop.pk}", role="Agent", shops=[shop])
        clerk = make_staff(f"clerk{shop.pk}", role="Warehouse", shops=[shop])
        ticket = open_ticket(shipment.order, requested_amount=amount)
        intercept = intercept_request(ticket=ticket, by=agent)
        intercept_confirm(intercept=intercept, by=clerk, note="快递已拦截")
    return shipment, ticket, clerk


def test_a_refund_after_a_confirmed_intercept_registers_a_claim_waiting_for_the_parcel():
    shipment, ticket, _clerk = confirmed_and_refunded()

    claim = CourierClaim.objects.get()
    assert (claim.status, claim.cause, claim.shipment, claim.ticket, claim.loss_amount, claim.refund) == (
        CourierClaim.Status.WAITING_RETURN,
        ClaimCause.INTERCEPT,
        shipment,
        ticket,
        ticket.refunds.get().amount,
        None,
    )
    assert claim.month.isoformat() == "2026-11-01"
    (event,) = claim.events.all()
    assert (event.action, event.to_state) == (LogisticsEvent.Action.REGISTERED_WAITING, "waiting_return")
    # A waiting claim is not the courier's yet: the month's sheet leaves it out, the month-end list shows it.
    manager = make_staff("m", role="Manager", shops=[claim.shop])
    assert list(claims_for_sheet(courier=claim.courier, month=claim.month, user=manager)) == []
    assert list(claims_not_back()) == [claim]
    # Registering again (the 15-minute follow-up) adds nothing.
    assert claims_register_waiting_return() == 0
    assert intercept_follow_up_run().counts.get("claims_waiting_return", 0) == 0


def test_the_month_end_check_files_a_claim_still_waiting_once_its_month_is_over_in_beijing():
    confirmed_and_refunded()
    claim = CourierClaim.objects.get()

    last_second = claims_file_not_back(now=datetime(2026, 11, 30, 23, 59, 59, tzinfo=CHINA))
    first_second = claims_file_not_back(now=datetime(2026, 12, 1, 0, 0, tzinfo=CHINA))
    again = claims_file_not_back(now=datetime(2026, 12, 1, 1, 0, tzinfo=CHINA))

    assert (last_second, first_second, again) == (0, 1, 0)
    claim.refresh_from_db()
    assert claim.status == CourierClaim.Status.OPEN
    assert claim.events.filter(action=LogisticsEvent.Action.NOT_BACK, from_state="waiting_return").count() == 1
    # Filed with the courier: now on November's sheet.
    manager = make_staff("m", role="Manager", shops=[claim.shop])
    assert list(claims_for_sheet(courier=claim.courier, month=claim.month, user=manager)) == [claim]


def test_the_hourly_check_runs_the_month_end_step():
    confirmed_and_refunded()

    run = no_scan_check_run(now=datetime(2026, 12, 1, 0, 30, tzinfo=CHINA))

    assert run.counts.get("claims_not_back") == 1
    assert CourierClaim.objects.get().status == CourierClaim.Status.OPEN


def test_a_warehouse_scan_of_the_intercepted_parcel_withdraws_its_claim():
    shipment, _ticket, clerk = confirmed_and_refunded()

    result = return_receive_scan(tracking_number=shipment.tracking_number, by=clerk)

    assert (result.parcel, result.claims_withdrawn) == (None, 1)
    claim = CourierClaim.objects.get()
    assert claim.status == CourierClaim.Status.WITHDRAWN
    assert claim.events.filter(action=LogisticsEvent.Action.WITHDRAWN, from_state="waiting_return").exists()
    assert list(claims_not_back()) == []
    assert claims_file_not_back(now=datetime(2026, 12, 2, tzinfo=CHINA)) == 0


def test_a_clerk_of_another_shop_withdraws_nothing():
    shipment, _ticket, _clerk = confirmed_and_refunded()
    other_shop = Shop.objects.create(code="b", name="B店", platform=shipment.shop.platform)
    stranger = make_staff("stranger", role="Warehouse", shops=[other_shop])

    assert return_receive_scan(tracking_number=shipment.tracking_number, by=stranger).claims_withdrawn == 0
    assert CourierClaim.objects.get().status == CourierClaim.Status.WAITING_RETURN


def test_a_lost_parcels_claim_is_on_the_month_end_list_until_the_warehouse_scans_it():
    lost = parcel(quiet_for=timedelta(hours=50))
    lost_parcel_remedy_set(lost.shop, "refund")
    shipments_declare_lost()
    claim = CourierClaim.objects.get(cause=ClaimCause.LOST)
    clerk = make_staff("clerk", role="Warehouse", shops=[lost.shop])
    assert list(claims_not_back()) == [claim]

    return_receive_scan(tracking_number=lost.tracking_number, by=clerk)

    claim.refresh_from_db()
    assert claim.status == CourierClaim.Status.WITHDRAWN
    assert list(claims_not_back()) == []


def test_the_admin_lists_and_exports_the_parcels_not_back(client):
    shipment, _ticket, _clerk = confirmed_and_refunded()
    manager = make_staff("manager", role="Manager", shops=[shipment.shop])
    client.force_login(manager)

    listed = client.get(reverse("admin:logistics_courierclaim_changelist") + "?not_back=yes")
    exported = client.get(reverse("admin:logistics_courierclaim_export_not_back"))

    assert [claim.pk for claim in listed.context["cl"].result_list] == [CourierClaim.objects.get().pk]
    assert exported.status_code == 200
    _sheet, rows = read_sheet(exported.content)
    assert any(shipment.tracking_number in [str(cell) for cell in row] for row in rows)


def test_the_admin_action_files_chosen_waiting_claims_after_their_month(client):
    confirmed_and_refunded()
    claim = CourierClaim.objects.get()
    manager = make_staff("manager", role="Manager", shops=[claim.shop])
    client.force_login(manager)

    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=CHINA)):
        client.post(
            reverse("admin:logistics_courierclaim_changelist"),
            {"action": "file_not_back", "_selected_action": [claim.pk]},
        )

    claim.refresh_from_db()
    assert claim.status == CourierClaim.Status.OPEN
    assert claim.events.get(action=LogisticsEvent.Action.NOT_BACK).actor == manager
