"""Bad input in the admin's own forms and lookups is a form error or a 400, never a 500, and stores nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule

from aftersales.models import TicketEvent, TicketState
from aftersales.services import ticket_agree_return
from logistics.models import LostParcelPolicy
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(user)
    return user


def test_a_crontab_hour_of_minus_one_is_a_form_error_in_the_beat_admin(client, superuser):
    before = CrontabSchedule.objects.count()

    answer = client.post(
        "/admin/django_celery_beat/crontabschedule/add/",
        {"minute": "0", "hour": "-1", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*", "timezone": "UTC"},
    )

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["hour"]
    assert CrontabSchedule.objects.count() == before


@pytest.fixture
def shop():
    return ShopFactory(code="bad-input")


@pytest.fixture
def agent(shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(user, shop, "50.00")
    return user


def act(client, ticket, name, data):
    url = reverse("admin:aftersales_aftersalesticket_act", args=[ticket.pk, name])
    return client.post(url, data, follow=True)


def error_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"] if message.level_tag == "error"]


def test_a_60_character_waybill_on_the_act_form_is_refused_with_a_message_and_nothing_is_written(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop))
    ticket_agree_return(ticket=ticket, by=agent)
    events = TicketEvent.objects.count()
    client.force_login(agent)

    response = act(client, ticket, "return_shipped", {"courier_code": "SF", "tracking_number": "SF" + "1" * 58})

    assert response.status_code == 200
    [message] = error_messages(response)
    assert "40" in message
    ticket.refresh_from_db()
    assert (ticket.state, ticket.return_tracking_number) == (TicketState.AWAITING_RETURN, "")
    assert TicketEvent.objects.count() == events


@pytest.mark.parametrize("note", ["a\x00b", "a\x07b", "x" * 2001])
def test_a_note_with_a_nul_a_control_character_or_too_long_is_refused_on_the_act_form(client, shop, agent, note):
    ticket = open_ticket(delivered_order(shop=shop))
    events = TicketEvent.objects.count()
    client.force_login(agent)

    response = act(client, ticket, "note", {"note": note})

    assert response.status_code == 200
    assert len(error_messages(response)) == 1
    assert TicketEvent.objects.count() == events


def test_a_nul_in_the_autocomplete_term_is_a_400_not_a_500(client, superuser):
    answer = client.get(
        "/admin/autocomplete/",
        {"app_label": "logistics", "model_name": "courieragreement", "field_name": "courier", "term": "\x00"},
    )

    assert answer.status_code == 400


def test_a_nul_in_a_changelist_search_is_a_400_not_a_500(client, superuser):
    assert client.get("/admin/aftersales/order/", {"q": "a\x00"}).status_code == 400


def test_a_nul_in_a_lost_parcel_policys_provinces_is_a_form_error(client, superuser, shop):
    answer = client.post(
        "/admin/logistics/lostparcelpolicy/add/",
        {
            "shop": shop.pk,
            "no_scan_hours": "48",
            "remote_no_scan_hours": "72",
            "remote_provinces": "新疆、\x00西藏",
            "remedy": "refund",
        },
    )

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["remote_provinces"]
    assert not LostParcelPolicy.objects.exists()


def test_a_lost_parcel_policys_provinces_still_read_as_short_names(client, superuser, shop):
    answer = client.post(
        "/admin/logistics/lostparcelpolicy/add/",
        {
            "shop": shop.pk,
            "no_scan_hours": "48",
            "remote_no_scan_hours": "72",
            "remote_provinces": "新疆维吾尔自治区、西藏\n青海",
            "remedy": "refund",
        },
    )

    assert answer.status_code == 302
    assert LostParcelPolicy.objects.get(shop=shop).remote_provinces == ["新疆", "西藏", "青海"]
