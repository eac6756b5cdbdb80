"""A shop's after-sales settings: its manager changes them on the shop's page, each change is a ShopEvent old → new;
agents, supervisors and other shops' managers cannot; bad values are form errors; the sweep uses each shop's
deadline-warning hours."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from aftersales import roles
from aftersales.models import AfterSalesTicket, Platform, Shop, ShopEvent
from aftersales.services import shop_update_settings
from aftersales.services.shops import SHOP_SETTINGS_FIELDS, SettingRefused
from aftersales.services.sweeps import refund_sweep_run
from desk.errors import ActionRefused
from tests.factories import OrderFactory, ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db

NEW_VALUES = {
    "auto_refund_enabled": False,
    "auto_refund_max_amount": "150.50",
    "approval_due_hours": "12",
    "sla_hours": "8",
    "path1_sla_minutes": "20",
    "deadline_warning_hours": "3",
    "unconfirmed_refund_hours": "48",
    "cutoff_answer_hours": "3",
    "lost_parcel_remedy": "refund",
    "refund_on_receipt_enabled": True,
    "refund_on_receipt_limited": False,
    "refund_on_receipt_max_amount": "59.90",
}
# As the events store them: old (the defaults) → new.
EXPECTED_EVENTS = {
    ("auto_refund_enabled", "true", "false"),
    ("auto_refund_max_amount", "300.00", "150.50"),
    ("approval_due_hours", "4", "12"),
    ("sla_hours", "4", "8"),
    ("path1_sla_minutes", "30", "20"),
    ("deadline_warning_hours", "6", "3"),
    ("unconfirmed_refund_hours", "24", "48"),
    ("cutoff_answer_hours", "2", "3"),
    ("lost_parcel_remedy", "reship", "refund"),
    ("refund_on_receipt_enabled", "false", "true"),
    ("refund_on_receipt_limited", "true", "false"),
    ("refund_on_receipt_max_amount", "100.00", "59.90"),
}


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外天猫旗舰店")


def change_url(shop) -> str:
    return reverse("admin:aftersales_shop_change", args=[shop.pk])


def page_data(response) -> dict:
    """What the browser posts back from the shop's page as it was shown: every field's value, and the inline
    formsets' management forms and rows."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()})
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def post_settings(client, shop, **changes):
    page = client.get(change_url(shop))
    assert page.status_code == 200
    data = page_data(page)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(change_url(shop), data)


def settings_of(shop) -> dict:
    return dict(Shop.objects.filter(pk=shop.pk).values(*SHOP_SETTINGS_FIELDS).get())


def test_a_manager_changes_each_setting_on_the_shops_page_and_each_change_is_an_event_old_to_new(client, shop):
    manager = make_staff("manager", role=roles.MANAGER, shops=[shop])
    client.force_login(manager)

    response = post_settings(client, shop, **NEW_VALUES)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert settings_of(shop) == {
        "auto_refund_enabled": False,
        "auto_refund_max_amount": Decimal("150.50"),
        "approval_due_hours": 12,
        "sla_hours": 8,
        "path1_sla_minutes": 20,
        "deadline_warning_hours": 3,
        "unconfirmed_refund_hours": 48,
        "cutoff_answer_hours": 3,
        "lost_parcel_remedy": "refund",
        "refund_on_receipt_enabled": True,
        "refund_on_receipt_limited": False,
        "refund_on_receipt_max_amount": Decimal("59.90"),
    }
    events = ShopEvent.objects.filter(shop=shop)
    assert set(events.values_list("field", "old_value", "new_value")) == EXPECTED_EVENTS
    assert {event.actor for event in events} == {manager}


def test_saving_the_page_unchanged_writes_no_event(client, shop):
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))

    assert post_settings(client, shop).status_code == 302

    assert not ShopEvent.objects.exists()


def test_the_shops_page_shows_the_settings_and_their_history_as_people_read_them(client, shop):
    manager = make_staff("manager", role=roles.MANAGER, shops=[shop])
    shop_update_settings(shop=shop, by=manager, changes={"auto_refund_max_amount": Decimal("88")})
    client.force_login(manager)

    with translation.override("en"):
        page = client.get(change_url(shop), HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    for name in SHOP_SETTINGS_FIELDS:
        assert f'name="{name}"' in html
    assert '<datalist id="id_approval_due_hours_suggestions"><option value="4"></option><option value="12">' in html
    history = page.context["inline_admin_formsets"][0]
    assert history.formset.prefix == "events"
    (event,) = [form.instance for form in history.formset.forms]
    assert (event.old_value, event.new_value) == ("300.00", "88.00")
    assert "¥300.00" in html
    assert "¥88.00" in html


@pytest.mark.parametrize("role", [roles.AGENT, roles.SUPERVISOR])
def test_agents_and_supervisors_read_the_settings_but_cannot_change_them(client, shop, role):
    client.force_login(make_staff("someone", role=role, shops=[shop]))
    before = settings_of(shop)

    page = client.get(change_url(shop))
    response = client.post(change_url(shop), {**NEW_VALUES, "code": shop.code, "name": shop.name})

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert response.status_code == 403
    assert settings_of(shop) == before
    assert not ShopEvent.objects.exists()
    with pytest.raises(ActionRefused) as refusal:
        shop_update_settings(shop=shop, by=page.wsgi_request.user, changes={"sla_hours": 8})
    assert refusal.value.code == "not_permitted"
    assert settings_of(shop) == before


def test_a_manager_of_another_shop_cannot_change_this_one(client, shop):
    other_manager = make_staff("other-manager", role=roles.MANAGER, shops=[ShopFactory()])
    client.force_login(other_manager)
    before = settings_of(shop)

    response = client.post(change_url(shop), {**NEW_VALUES, "code": shop.code, "name": shop.name})

    assert response.status_code == 302
    assert response.url == reverse("admin:index")  # "does not exist" for them
    with pytest.raises(ActionRefused) as refusal:
        shop_update_settings(shop=shop, by=other_manager, changes={"sla_hours": 8})
    assert refusal.value.code == "other_shop"
    assert settings_of(shop) == before
    assert not ShopEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("approval_due_hours", "0", "须为 1 到 720 之间的整数"),
        ("sla_hours", "-3", "确保该值大于或等于0"),
        ("path1_sla_minutes", "1441", "须为 1 到 1440 之间的整数"),
        ("deadline_warning_hours", "721", "须为 1 到 720 之间的整数"),
        ("deadline_warning_hours", "six", "输入整数"),
        ("auto_refund_max_amount", "-0.01", "须为不小于 ¥0.00 的金额"),
        ("auto_refund_max_amount", "12.345", "确认小数不超过 2 位"),
    ],
)
def test_an_invalid_value_is_a_form_error_in_the_users_language_and_nothing_is_written(
    client, shop, field, value, words
):
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))
    before = settings_of(shop)

    response = post_settings(client, shop, **{**NEW_VALUES, field: value})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field]), errors
    assert settings_of(shop) == before
    assert not ShopEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sla_hours": 0}, "sla_hours"),
        ({"approval_due_hours": True}, "approval_due_hours"),
        ({"deadline_warning_hours": 10_000}, "deadline_warning_hours"),
        ({"auto_refund_max_amount": Decimal("1.005")}, "auto_refund_max_amount"),
        ({"auto_refund_max_amount": "NaN"}, "auto_refund_max_amount"),
        ({"auto_refund_enabled": "yes"}, "auto_refund_enabled"),
    ],
)
def test_the_service_refuses_a_bad_value_from_any_door_and_writes_nothing(shop, changes, field):
    manager = make_staff("manager", role=roles.MANAGER, shops=[shop])
    before = settings_of(shop)

    with translation.override("zh-hans"), pytest.raises(SettingRefused) as refusal:
        shop_update_settings(shop=shop, by=manager, changes={"sla_hours": 8, **changes})

    assert refusal.value.field == field
    assert str(Shop._meta.get_field(field).verbose_name) in str(refusal.value.message)
    assert settings_of(shop) == before
    assert not ShopEvent.objects.exists()


def test_a_manager_cannot_move_the_shop_to_another_platform_but_a_superuser_can(client, admin_client, shop):
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))
    douyin = Platform.objects.get(code="douyin")

    assert post_settings(client, shop, platform=douyin.pk, name="新名字").status_code == 302
    shop.refresh_from_db()
    assert (shop.platform.code, shop.name) == ("tmall", "新名字")

    assert post_settings(admin_client, shop, platform=douyin.pk, sla_hours="10").status_code == 302
    shop.refresh_from_db()
    assert (shop.platform.code, shop.sla_hours) == ("douyin", 10)
    assert ShopEvent.objects.get().field == "sla_hours"


def test_the_sweep_warns_each_shop_by_its_own_deadline_warning_hours():
    now = timezone.now()
    quick = ShopFactory(auto_refund_enabled=False, deadline_warning_hours=2)
    patient = ShopFactory(auto_refund_enabled=False, deadline_warning_hours=12)
    tickets = {}
    for shop in (quick, patient):
        for hours_left in (1, 5, 13):
            ticket = open_ticket(OrderFactory(shop=shop), requested_amount="10.00")
            AfterSalesTicket.objects.filter(pk=ticket.pk).update(deadline=now + timedelta(hours=hours_left))
            tickets[shop.pk, hours_left] = ticket.pk

    with time_machine.travel(now, tick=False):
        run = refund_sweep_run()

    flagged = set(AfterSalesTicket.objects.filter(escalation_risk=True).values_list("pk", flat=True))
    assert flagged == {tickets[quick.pk, 1], tickets[patient.pk, 1], tickets[patient.pk, 5]}
    assert run.counts == {"deadline_escalated": 3}

    with time_machine.travel(now + timedelta(hours=3, minutes=30), tick=False):
        later = refund_sweep_run()

    # 1 h 30 min left of 5 h is within the quick shop's 2 h; 9 h 30 min left of 13 h within the patient shop's 12 h.
    flagged = set(AfterSalesTicket.objects.filter(escalation_risk=True).values_list("pk", flat=True))
    assert flagged - {tickets[quick.pk, 1], tickets[patient.pk, 1], tickets[patient.pk, 5]} == {
        tickets[quick.pk, 5],
        tickets[patient.pk, 13],
    }
    assert later.counts == {"deadline_escalated": 2}


def test_a_superuser_still_creates_a_shop_with_its_settings_and_members(admin_client):
    manager = make_staff("manager", role=roles.MANAGER)
    data = {
        "code": "new-shop",
        "name": "新店",
        "platform": Platform.objects.get(code="jd").pk,
        "is_active": "on",
        **NEW_VALUES,
        "members": [manager.pk],
    }

    response = admin_client.post(reverse("admin:aftersales_shop_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    shop = Shop.objects.get(code="new-shop")
    assert (shop.platform.code, shop.approval_due_hours, shop.deadline_warning_hours) == ("jd", 12, 3)
    assert list(Shop.objects.filter(pk=shop.pk, shopuserobjectpermission__user=manager)) == [shop]
