"""Issue 19 point 1: a refusal carries the ticket's evidence photos (the warehouse's inspection) to the platform, and
an agent's message to the buyer goes through the outbox (留言/凭证); where the platform cannot take it, the agent is
told."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from aftersales import roles
from aftersales.services import ticket_reject
from desk.errors import ActionRefused
from marketplaces.models import OutboundAction
from marketplaces.outbound import outbound_sweep, ticket_message_buyer
from tests.factories import make_staff
from tests.marketplaces.test_outbound import platform_ticket
from warehouse.models import Evidence, Inspection, ReturnParcel

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0" + b"inspection-photo" * 100  # 1,604 bytes, a JPEG's first bytes


@pytest.fixture(autouse=True)
def _media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        yield


def add_photo(ticket, clerk, data: bytes = PHOTO) -> None:
    parcel = ReturnParcel.objects.create(
        shop=ticket.shop, ticket=ticket, tracking_number=f"SF{ticket.pk:010d}", received_at=timezone.now()
    )
    inspection = Inspection.objects.create(parcel=parcel, result="damaged", inspected_by=clerk)
    evidence = Evidence(
        inspection=inspection,
        kind=Evidence.Kind.PHOTO,
        content_type="image/jpeg",
        extension="jpg",
        size=len(data),
        sha256=f"{ticket.pk:064d}",
        uploaded_by=clerk,
    )
    evidence.file.save("photo.jpg", ContentFile(data), save=True)


def test_a_refusal_carries_the_inspection_photo_as_refuse_proof(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, refund_id = platform_ticket(connection, taobao)
    add_photo(ticket, agent)

    ticket_reject(ticket=ticket, by=agent, note="退回商品有明显使用痕迹")
    assert outbound_sweep()["done"] == 1

    [refusal] = taobao.calls_of("taobao.refund.refuse")
    assert refusal["refuse_proof"] == len(PHOTO)  # the simulator records a file by its size
    assert taobao.snapshot(refund_id)["status"] == "SELLER_REFUSE_BUYER"


def test_a_photo_above_the_refuse_proof_limit_stays_home_and_the_refusal_still_goes(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, _refund_id = platform_ticket(connection, taobao)
    add_photo(ticket, agent, data=b"\xff" * 130_001)

    ticket_reject(ticket=ticket, by=agent, note="退回商品有明显使用痕迹")
    assert outbound_sweep()["done"] == 1
    [refusal] = taobao.calls_of("taobao.refund.refuse")
    assert "refuse_proof" not in refusal


def test_an_agents_message_with_evidence_is_left_on_the_platform(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, refund_id = platform_ticket(connection, taobao)
    add_photo(ticket, agent)

    action = ticket_message_buyer(ticket=ticket, by=agent, text="亲，商品已寄回，请查收凭证", with_evidence=True)
    assert action.kind == OutboundAction.Kind.MESSAGE
    assert outbound_sweep()["done"] == 1

    [message] = taobao.calls_of("taobao.refund.message.add")
    assert (message["refund_id"], message["content"], message["image"]) == (
        refund_id,
        "亲，商品已寄回，请查收凭证",
        len(PHOTO),
    )
    assert ticket.events.filter(action="note", note__contains="亲，商品已寄回").exists()
    assert outbound_sweep() == {"collected": 0}  # sent once


def test_a_taobao_message_without_an_image_is_not_sent_and_the_agent_is_told(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, _refund_id = platform_ticket(connection, taobao)

    ticket_message_buyer(ticket=ticket, by=agent, text="亲，请补充照片")
    with translation.override("en"):
        assert outbound_sweep()["refused"] == 1

    assert taobao.calls_of("taobao.refund.message.add") == []
    ticket.refresh_from_db()
    assert "only with an image" in ticket.attention_note


def test_a_message_on_a_shop_not_connected_or_an_empty_one_is_refused(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, _refund_id = platform_ticket(connection, taobao)
    with pytest.raises(ActionRefused):
        ticket_message_buyer(ticket=ticket, by=agent, text="   ")
    connection.is_enabled = False
    connection.save(update_fields=["is_enabled"])
    with pytest.raises(ActionRefused):
        ticket_message_buyer(ticket=ticket, by=agent, text="亲")
    assert not OutboundAction.objects.exists()


def test_the_ticket_page_links_to_the_message_form_which_queues_it(connection, taobao, client):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, _refund_id = platform_ticket(connection, taobao)
    client.force_login(agent)
    url = reverse("marketplaces:message_buyer", args=[ticket.pk])

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
    assert url in page.content.decode()
    answer = client.post(url, {"text": "亲，已为您处理"})

    assert answer.status_code == 302
    assert (
        OutboundAction.objects.get(ticket=ticket, kind=OutboundAction.Kind.MESSAGE).payload["note"] == "亲，已为您处理"
    )
