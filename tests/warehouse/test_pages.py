"""The warehouse's pages through the Django test client: the receiving station, inspection with evidence, the evidence
download, cut-offs and the daily clearance — who may use them, what they show and that a refusal writes nothing."""

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from aftersales.models import AfterSalesTicket, CutOffRequest, Refund, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from tests.factories import OrderFactory, OrderLineFactory, ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.models import EarlyExchange, Evidence, Inspection, ReturnParcel
from warehouse.services import (
    early_exchange_rule_set,
    early_exchange_send,
    inspection_record,
    return_parcel_record_scan,
    return_receive_scan,
)

pytestmark = pytest.mark.django_db

STATION = reverse("warehouse:station")
CUTOFFS = reverse("warehouse:cutoffs")
CLEARANCE = reverse("warehouse:clearance")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def jpeg_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg(name="photo.jpg", size=(8, 8)):
    return SimpleUploadedFile(name, jpeg_bytes(size), content_type="image/jpeg")


def return_on_its_way(shop, tracking_number, *, kind=TicketKind.RETURN_REFUND, lines=((1, "99.00"),)):
    order = delivered_order(shop=shop, paid_amount=sum((Decimal(amount) for _quantity, amount in lines), Decimal(0)))
    for index, (quantity, amount) in enumerate(lines):
        OrderLineFactory(
            order=order, sku=f"SKU-{tracking_number}-{index}", item_name=f"速干T恤{index}", quantity=quantity,
            paid_amount=Decimal(amount),
        )  # fmt: skip
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    return ticket


def scan(client, number):
    return client.post(STATION, {"tracking_number": number})


def inspect_url(parcel):
    return reverse("warehouse:inspect", args=[parcel.pk])


def inspection_data(parcel, *, result="ok", files=(), notes="", **quantities):
    lines = parcel.ticket.order.lines.order_by("id")
    data = {"result": result, "notes": notes, "files": list(files)}
    data.update(
        {f"quantity_{line.pk}": quantities.get(f"line{index}", line.quantity) for index, line in enumerate(lines)}
    )
    return data


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def page_text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- who may use the pages ------------------------------------------------------------------------------------------


def test_the_station_sends_an_anonymous_visitor_to_the_admin_login(client):
    response = client.get(STATION)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={STATION}"


def test_an_agent_may_not_use_the_station_the_inspection_or_the_cutoffs_but_may_read_the_clearance(
    client, shop, clerk, agent
):
    return_on_its_way(shop, "ZT1001")
    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    client.force_login(agent)

    assert client.get(STATION).status_code == 403
    assert scan(client, "ZT1001").status_code == 403
    assert client.get(inspect_url(parcel)).status_code == 403
    assert client.get(CUTOFFS).status_code == 403
    assert client.get(CLEARANCE).status_code == 200


def test_the_station_is_in_chinese_with_the_scan_field_focused(client, clerk):
    client.force_login(clerk)

    response = client.get(STATION)

    html = page_text(response)
    assert response.status_code == 200
    assert "售后工作台" in html
    scan_field = html[html.index('id="scan"') - 200 : html.index('id="scan"') + 200]
    assert "autofocus" in scan_field
    assert 'autocomplete="off"' in scan_field


# --- scanning -------------------------------------------------------------------------------------------------------


def test_a_scan_receives_the_return_and_shows_the_expected_items_with_the_inspection_form(client, shop, clerk):
    ticket = return_on_its_way(shop, "ZT1001", lines=((2, "60.00"), (1, "39.00")))
    client.force_login(clerk)

    response = scan(client, " zt 1001 ")

    parcel = ReturnParcel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == inspect_url(parcel)
    assert (parcel.status, parcel.received_by, parcel.ticket) == ("received", clerk, ticket)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.RECEIVED
    page = client.get(response["Location"])
    html = page_text(page)
    assert ticket.order.platform_order_id in html
    assert f"#{ticket.pk}" in html
    assert "SKU-ZT1001-0" in html
    assert "SKU-ZT1001-1" in html
    assert 'id="inspection-form"' in html
    form = page.context["form"]
    assert [form.fields[form.quantity_field_name(line)].initial for line in form.lines] == [2, 1]
    assert any("ZT1001" in message for message in messages_of(page))


def test_an_unknown_tracking_number_says_so_and_the_parcel_can_be_registered_for_an_agent(client, shop, clerk):
    client.force_login(clerk)

    response = scan(client, "yt9999")

    assert response.status_code == 302
    assert response["Location"] == f"{STATION}?unknown=YT9999"
    page = client.get(response["Location"])
    assert "YT9999" in page_text(page)
    assert 'id="register-unexpected"' in page_text(page)
    assert page.context["register_form"].initial["shop"] == shop
    assert not ReturnParcel.objects.exists()

    registered = client.post(
        reverse("warehouse:register_unexpected"),
        {"tracking_number": "YT9999", "shop": shop.pk, "note": "寄件人 张三"},
        follow=True,
    )

    parcel = ReturnParcel.objects.get()
    assert (parcel.tracking_number, parcel.shop, parcel.ticket, parcel.status) == ("YT9999", shop, None, "received")
    assert parcel.note == "寄件人 张三"
    assert registered.redirect_chain == [(STATION, 302)]
    assert any("YT9999" in message for message in messages_of(registered))


def test_registering_an_unexpected_parcel_in_a_shop_the_clerk_does_not_work_on_is_refused(client, clerk):
    elsewhere = ShopFactory(name="B店")
    client.force_login(clerk)

    response = client.post(reverse("warehouse:register_unexpected"), {"tracking_number": "YT1", "shop": elsewhere.pk})

    assert response.status_code == 200
    assert response.context["register_form"].errors["shop"]
    assert not ReturnParcel.objects.exists()


def test_a_second_scan_of_the_same_parcel_says_when_and_by_whom_and_records_no_second_receipt(client, shop, clerk):
    ticket = return_on_its_way(shop, "ZT1001")
    client.force_login(clerk)
    client.post(STATION, {"tracking_number": "ZT1001"}, follow=True)

    again = client.post(STATION, {"tracking_number": "ZT1001"}, follow=True)

    assert ReturnParcel.objects.count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="return_received").count() == 1
    (message,) = [message for message in messages_of(again) if "ZT1001" in message]
    assert "clerk" in message
    assert again.redirect_chain[-1][0] == inspect_url(ReturnParcel.objects.get())


# --- inspecting -----------------------------------------------------------------------------------------------------


def received_parcel(client, shop, clerk, number="ZT1001", **kwargs):
    return_on_its_way(shop, number, **kwargs)
    client.force_login(clerk)
    scan(client, number)
    return ReturnParcel.objects.get(tracking_number=number)


def test_a_clean_inspection_with_a_photo_starts_the_refund_and_returns_to_the_station(client, shop, clerk, media):
    parcel = received_parcel(client, shop, clerk)

    response = client.post(inspect_url(parcel), inspection_data(parcel, files=[jpeg()], notes="完好"))

    assert response.status_code == 302
    assert response["Location"] == STATION
    inspection = Inspection.objects.get(parcel=parcel)
    assert (inspection.result, inspection.notes, inspection.inspected_by) == ("ok", "完好", clerk)
    assert [line.quantity_received for line in inspection.lines.all()] == [1]
    evidence = inspection.evidence.get()
    assert (evidence.content_type, evidence.kind) == ("image/jpeg", "photo")
    assert len(stored_files(media)) == 1
    ticket = AfterSalesTicket.objects.get(pk=parcel.ticket_id)
    assert ticket.state == TicketState.REFUNDING
    assert Refund.objects.get(ticket=ticket).status == Refund.Status.PENDING
    station = client.get(STATION)
    assert any("ZT1001" in message for message in messages_of(station))


def test_a_text_file_named_like_a_photo_is_refused_and_nothing_is_written(client, shop, clerk, media):
    parcel = received_parcel(client, shop, clerk)
    fake = SimpleUploadedFile("photo.jpg", "这不是照片".encode(), content_type="image/jpeg")

    response = client.post(inspect_url(parcel), inspection_data(parcel, result="damaged", files=[fake]))

    assert response.status_code == 200
    assert "photo.jpg" in response.context["form"].errors["files"][0]
    assert not Inspection.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(media) == []
    parcel.refresh_from_db()
    assert parcel.status == "received"
    assert AfterSalesTicket.objects.get(pk=parcel.ticket_id).state == TicketState.RECEIVED


def test_an_oversized_photo_is_refused_and_nothing_is_written(client, shop, clerk, media, settings):
    settings.EVIDENCE_MAX_PHOTO_BYTES = 300
    parcel = received_parcel(client, shop, clerk)
    big = jpeg(size=(64, 64))
    assert big.size > 300

    response = client.post(inspect_url(parcel), inspection_data(parcel, result="damaged", files=[big]))

    assert response.status_code == 200
    assert "photo.jpg" in response.context["form"].errors["files"][0]
    assert not Inspection.objects.exists()
    assert stored_files(media) == []


def test_an_abnormal_result_without_evidence_is_refused_next_to_the_file_field(client, shop, clerk):
    parcel = received_parcel(client, shop, clerk)

    response = client.post(inspect_url(parcel), inspection_data(parcel, result="swapped"))

    assert response.status_code == 200
    assert response.context["form"].errors["files"]
    assert not Inspection.objects.exists()


def test_a_quantity_above_what_was_sold_is_a_form_error(client, shop, clerk):
    parcel = received_parcel(client, shop, clerk, lines=((2, "99.00"),))

    response = client.post(inspect_url(parcel), inspection_data(parcel, line0=3))

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Inspection.objects.exists()


def test_an_abnormal_inspection_with_a_photo_goes_back_to_the_agent(client, shop, clerk):
    parcel = received_parcel(client, shop, clerk, lines=((2, "99.00"),))

    response = client.post(
        inspect_url(parcel), inspection_data(parcel, result="missing_items", files=[jpeg()], line0=1), follow=True
    )

    ticket = AfterSalesTicket.objects.get(pk=parcel.ticket_id)
    assert ticket.state == TicketState.RECEIVED
    assert ticket.attention_note.startswith("Inspection") or "验货" in ticket.attention_note
    assert Inspection.objects.get().lines.get().quantity_received == 1
    assert response.redirect_chain == [(STATION, 302)]


def test_an_inspected_parcel_shows_its_inspection_and_takes_no_second_one(client, shop, clerk):
    parcel = received_parcel(client, shop, clerk)
    client.post(inspect_url(parcel), inspection_data(parcel, files=[jpeg()]))

    page = client.get(inspect_url(parcel))
    second = client.post(inspect_url(parcel), inspection_data(parcel), follow=True)

    assert page.context["form"] is None
    assert 'id="inspection-done"' in page_text(page)
    assert reverse("warehouse:evidence", args=[Evidence.objects.get().pk]) in page_text(page)
    assert Inspection.objects.count() == 1
    assert any(message for message in messages_of(second))


# --- another shop ---------------------------------------------------------------------------------------------------


def test_a_clerk_of_another_shop_can_neither_find_receive_inspect_nor_download_this_shops_parcel(client, shop, clerk):
    ticket = return_on_its_way(shop, "ZT1001")
    stranger = make_staff("stranger", role="Warehouse", shops=[ShopFactory(name="B店")])
    client.force_login(stranger)

    response = scan(client, "ZT1001")

    assert response["Location"] == f"{STATION}?unknown=ZT1001"
    assert not ReturnParcel.objects.exists()
    ticket.refresh_from_db()
    assert ticket.state == TicketState.RETURN_IN_TRANSIT

    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    inspection_record(parcel=parcel, by=clerk, result="damaged", files=[jpeg()])
    evidence = Evidence.objects.get()
    client.force_login(stranger)

    assert client.get(inspect_url(parcel)).status_code == 404
    assert client.post(inspect_url(parcel), {"result": "ok"}).status_code == 404
    assert client.get(reverse("warehouse:evidence", args=[evidence.pk])).status_code == 404
    assert Inspection.objects.count() == 1


def test_a_clerk_of_another_shop_cannot_inspect_a_received_parcel_either(client, shop, clerk):
    parcel = received_parcel(client, shop, clerk)
    stranger = make_staff("stranger", role="Warehouse", shops=[ShopFactory(name="B店")])
    client.force_login(stranger)

    response = client.post(inspect_url(parcel), inspection_data(parcel, files=[jpeg()]))

    assert response.status_code == 404
    assert not Inspection.objects.exists()


# --- evidence -------------------------------------------------------------------------------------------------------


def test_evidence_is_served_inline_with_its_content_type_to_a_user_of_the_shop(client, shop, clerk, agent):
    return_on_its_way(shop, "ZT1001")
    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    photo = jpeg()
    inspection_record(parcel=parcel, by=clerk, result="damaged", files=[photo])
    evidence = Evidence.objects.get()
    client.force_login(agent)

    response = client.get(reverse("warehouse:evidence", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == jpeg_bytes()


def test_evidence_is_not_found_for_anonymous_users_and_the_media_url_serves_nothing(client, shop, clerk):
    return_on_its_way(shop, "ZT1001")
    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    inspection_record(parcel=parcel, by=clerk, result="damaged", files=[jpeg()])
    evidence = Evidence.objects.get()

    anonymous = client.get(reverse("warehouse:evidence", args=[evidence.pk]))
    client.force_login(clerk)
    direct = client.get(f"/media/{evidence.file.name}")

    assert anonymous.status_code == 302  # to the login page
    assert direct.status_code == 404


# --- cut-offs -------------------------------------------------------------------------------------------------------


def packed_refund(shop, number):
    order = OrderFactory(shop=shop, platform_order_id=number, packed_at=datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))
    OrderLineFactory(order=order, sku=f"SKU-{number}", item_name="冲锋衣", quantity=1, paid_amount=order.paid_amount)
    ticket = open_ticket(order)
    return CutOffRequest.objects.get(ticket=ticket)


def test_the_clerk_holds_one_cutoff_and_reports_another_already_shipped(client, shop, clerk):
    held = packed_refund(shop, "4100000000000000001")
    gone = packed_refund(shop, "4100000000000000002")
    client.force_login(clerk)

    page = client.get(CUTOFFS)
    assert [cutoff.pk for cutoff in page.context["cutoffs"]] == [held.pk, gone.pk]
    assert "SKU-4100000000000000001" in page_text(page)

    client.post(reverse("warehouse:cutoff_answer", args=[held.pk]), {"decision": "held"})
    answered = client.post(
        reverse("warehouse:cutoff_answer", args=[gone.pk]), {"decision": "gone", "note": "已交给顺丰"}, follow=True
    )

    held.refresh_from_db()
    gone.refresh_from_db()
    assert (held.status, gone.status) == ("held", "gone")
    assert AfterSalesTicket.objects.get(pk=held.ticket_id).state == TicketState.REFUNDING
    back_to_agent = AfterSalesTicket.objects.get(pk=gone.ticket_id)
    assert (back_to_agent.state, back_to_agent.path) == (TicketState.REQUESTED, 2)
    assert answered.context["cutoffs"] == []
    assert answered.redirect_chain == [(CUTOFFS, 302)]


def test_answering_a_cutoff_twice_shows_the_refusal(client, shop, clerk):
    cutoff = packed_refund(shop, "4100000000000000001")
    client.force_login(clerk)
    client.post(reverse("warehouse:cutoff_answer", args=[cutoff.pk]), {"decision": "held"}, follow=True)

    again = client.post(reverse("warehouse:cutoff_answer", args=[cutoff.pk]), {"decision": "gone"}, follow=True)

    cutoff.refresh_from_db()
    assert cutoff.status == "held"
    assert [(message.level_tag, str(message)) for message in again.context["messages"]] == [("error", "该截单已处理。")]


def test_a_cutoff_of_another_shop_is_not_found(client, clerk):
    cutoff = packed_refund(ShopFactory(name="B店"), "4100000000000000009")
    client.force_login(clerk)

    response = client.post(reverse("warehouse:cutoff_answer", args=[cutoff.pk]), {"decision": "held"})

    assert response.status_code == 404
    cutoff.refresh_from_db()
    assert cutoff.status == "requested"


# --- daily clearance ------------------------------------------------------------------------------------------------


YESTERDAY = datetime(2026, 3, 10, 15, 0, tzinfo=SHANGHAI)
TODAY = datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)


def left_over(shop, clerk, agent, count, start):
    """`count` rows in each of the three lists, made yesterday through the services."""
    with time_machine.travel(YESTERDAY, tick=False):
        early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("200.00"))
        for index in range(start, start + count):
            return_on_its_way(shop, f"RN{index:04d}")
            return_receive_scan(tracking_number=f"RN{index:04d}", by=clerk)
            return_on_its_way(shop, f"IN{index:04d}")
            parcel = return_receive_scan(tracking_number=f"IN{index:04d}", by=clerk).parcel
            inspection_record(parcel=parcel, by=clerk, result="ok")
            ticket = return_on_its_way(shop, f"EX{index:04d}", kind=TicketKind.EXCHANGE)
            return_parcel_record_scan(ticket=ticket, by=agent)
            early_exchange_send(ticket=ticket, by=agent)


def clearance_queries(client):
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(CLEARANCE)
    assert response.status_code == 200
    return len(queries), response


def test_the_clearance_lists_and_counts_what_is_left_from_before_today(client, shop, clerk, agent):
    left_over(shop, clerk, agent, 2, 0)
    client.force_login(clerk)

    _queries, response = clearance_queries(client)

    assert response.context["counts"] == {
        "received_not_inspected": 2,
        "inspected_not_refunded": 2,
        "early_exchanges_without_return": 2,
    }
    html = page_text(response)
    for number in ("RN0000", "RN0001", "IN0000", "IN0001", "EX0000", "EX0001"):
        assert number in html
    assert 'id="count-received-not-inspected">2<' in html


def test_the_clearance_runs_the_same_queries_for_2_and_for_20_rows_per_list(client, shop, clerk, agent):
    client.force_login(agent)  # an agent reads the clearance too
    left_over(shop, clerk, agent, 2, 0)
    few, response = clearance_queries(client)
    assert len(response.context["early"]) == 2

    left_over(shop, clerk, agent, 18, 2)
    many, response = clearance_queries(client)

    assert len(response.context["received"]) == 20
    assert len(response.context["not_refunded"]) == 20
    assert len(response.context["early"]) == 20
    assert EarlyExchange.objects.count() == 20
    assert many == few


def test_the_cutoff_list_runs_the_same_queries_for_2_and_for_10_cutoffs(client, shop, clerk):
    client.force_login(clerk)
    for index in range(2):
        packed_refund(shop, f"41000000000000001{index:02d}")
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(CUTOFFS).context["cutoffs"]) == 2

    for index in range(2, 10):
        packed_refund(shop, f"41000000000000001{index:02d}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(CUTOFFS).context["cutoffs"]) == 10

    assert len(many) == len(few)


def test_the_agent_opens_the_inspection_with_its_evidence_from_the_ticket_page(client, shop, clerk, agent, media):
    ticket = return_on_its_way(shop, "ZT1")
    parcel = return_receive_scan(tracking_number="ZT1", by=clerk).parcel
    inspection = inspection_record(parcel=parcel, by=clerk, result="swapped", files=[jpeg()])
    client.force_login(agent)

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])).content.decode()

    assert reverse("admin:warehouse_inspection_change", args=[inspection.pk]) in page
