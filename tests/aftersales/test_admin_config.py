"""The refund list and its batch-refund file, and the configuration admins: reasons, escalation words, authorities."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aftersales import roles
from aftersales.models import EscalationWord, Refund, RefundAuthority, ReturnReason
from aftersales.services import refund_execute
from tests.factories import OrderFactory, ShopFactory, confirm_refund, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db

REFUNDS = reverse("admin:aftersales_refund_changelist")
REASONS = reverse("admin:aftersales_returnreason_changelist")
WORDS = reverse("admin:aftersales_escalationword_changelist")
AUTHORITIES = reverse("admin:aftersales_refundauthority_changelist")
ADD_AUTHORITY = reverse("admin:aftersales_refundauthority_add")


@pytest.fixture
def shop_a():
    return ShopFactory(name="A店")


@pytest.fixture
def shop_b():
    return ShopFactory(name="B店")


def make_refund(shop, amount="19.90", *, succeeded=True, order_id=None):
    """A path-1 refund made by the shop's automatic rule through the real services; confirmed unless told."""
    order = OrderFactory(shop=shop, **({"platform_order_id": order_id} if order_id else {}))
    refund = open_ticket(order, requested_amount=amount).refunds.get()
    return confirm_refund(refund) if succeeded else refund


def queued_refund(shop, amount="19.90", *, order_id=None):
    """A refund sent through the batch-file gateway: it waits for the shop's next batch file."""
    return refund_execute(refund_id=make_refund(shop, amount, succeeded=False, order_id=order_id).pk)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


# --- refunds ----------------------------------------------------------------------------------------------------------


def test_the_refund_list_runs_the_same_queries_for_5_and_for_50_refunds(client, shop_a):
    client.force_login(make_staff("agent-a", role=roles.AGENT, shops=[shop_a]))
    for _ in range(5):
        make_refund(shop_a)
    few, response = count_queries(client, REFUNDS)
    assert len(response.context["cl"].result_list) == 5

    for index in range(45):
        make_refund(shop_a, succeeded=index % 3 != 0)
    many, response = count_queries(client, REFUNDS)

    assert len(response.context["cl"].result_list) == 50
    assert many == few == 7


def test_an_agent_sees_only_the_refunds_of_their_shops(client, shop_a, shop_b):
    mine = make_refund(shop_a, order_id="A-0001")
    theirs = make_refund(shop_b, order_id="B-0001")
    client.force_login(make_staff("agent-a", role=roles.AGENT, shops=[shop_a]))

    listing = client.get(REFUNDS)

    assert [refund.pk for refund in listing.context["cl"].result_list] == [mine.pk]
    assert "B-0001" not in listing.content.decode()
    shop_filter = next(spec for spec in listing.context["cl"].filter_specs if spec.parameter_name == "shop")
    assert [name for _value, name in shop_filter.lookup_choices] == ["A店"]
    assert client.get(reverse("admin:aftersales_refund_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:aftersales_refund_change", args=[theirs.pk])).status_code == 302


def test_nobody_adds_changes_or_deletes_a_refund_in_the_admin_not_even_the_superuser(admin_client, shop_a):
    refund = make_refund(shop_a)
    change_url = reverse("admin:aftersales_refund_change", args=[refund.pk])

    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert admin_client.get(reverse("admin:aftersales_refund_add")).status_code == 403
    assert admin_client.post(change_url, {"amount": "0.01"}).status_code == 403
    assert (
        admin_client.post(reverse("admin:aftersales_refund_delete", args=[refund.pk]), {"post": "yes"}).status_code
        == 403
    )
    refund.refresh_from_db()
    assert refund.amount == Decimal("19.90")


def test_the_refund_list_filters_by_the_day_it_was_confirmed(client, shop_a):
    executed = make_refund(shop_a)
    make_refund(shop_a, succeeded=False)
    client.force_login(make_staff("agent-a", role=roles.AGENT, shops=[shop_a]))

    # What the filter's "Today" link asks for: the Beijing day, as aware times.
    midnight = timezone.localtime(executed.confirmed_at).replace(hour=0, minute=0, second=0, microsecond=0)
    today = client.get(
        REFUNDS, {"confirmed_at__gte": str(midnight), "confirmed_at__lt": str(midnight + timedelta(days=1))}
    )

    assert [refund.pk for refund in today.context["cl"].result_list] == [executed.pk]


def test_the_batch_file_action_makes_the_batch_of_the_waiting_refunds_of_the_users_shop(client, shop_a, shop_b):
    first = queued_refund(shop_a, "19.90", order_id="A-0001")
    second = queued_refund(shop_a, "33.30", order_id="A-0002")
    pending = make_refund(shop_a, succeeded=False, order_id="A-0003")
    foreign = queued_refund(shop_b, order_id="B-0001")
    client.force_login(make_staff("agent-a", role=roles.AGENT, shops=[shop_a]))

    response = client.post(REFUNDS, {"action": "download_batch_file", "_selected_action": [first.pk, foreign.pk]})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="refunds-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[2]) for row in rows] == [("A-0001", 19.9), ("A-0002", 33.3)]
    assert Refund.objects.get(pk=pending.pk).status == Refund.Status.PENDING  # never sent: not in the file
    assert Refund.objects.get(pk=foreign.pk).status == Refund.Status.PENDING  # another shop's
    assert {Refund.objects.get(pk=refund.pk).status for refund in (first, second)} == {Refund.Status.SENT}


def test_the_batch_file_action_says_so_when_nothing_is_waiting_for_a_batch(client, shop_a):
    pending = make_refund(shop_a, succeeded=False)
    client.force_login(make_staff("agent-a", role=roles.AGENT, shops=[shop_a]))

    response = client.post(REFUNDS, {"action": "download_batch_file", "_selected_action": [pending.pk]})

    assert response.status_code == 302
    assert [message.level_tag for message in get_messages(response.wsgi_request)] == ["warning"]


def test_the_batch_file_action_refuses_a_selection_of_two_shops(admin_client, shop_a, shop_b):
    refunds = [make_refund(shop_a), make_refund(shop_b)]

    response = admin_client.post(
        REFUNDS, {"action": "download_batch_file", "_selected_action": [refund.pk for refund in refunds]}
    )

    assert response.status_code == 302
    assert [message.level_tag for message in get_messages(response.wsgi_request)] == ["error"]
    assert "2" in str(next(iter(get_messages(response.wsgi_request))))


# --- reasons and escalation words -------------------------------------------------------------------------------------


def test_the_reason_list_runs_the_same_queries_for_20_and_for_50_reasons(client):
    client.force_login(make_staff("lead", role=roles.SUPERVISOR))
    few, response = count_queries(client, REASONS)
    assert len(response.context["cl"].result_list) == ReturnReason.objects.count() == 20  # seeded by 0006

    ReturnReason.objects.bulk_create(
        [
            ReturnReason(code=f"extra-{n}", category="other", label_zh=f"其他{n}", label_en=f"Other {n}")
            for n in range(30)
        ]
    )
    many, response = count_queries(client, REASONS)

    assert len(response.context["cl"].result_list) == 50
    assert many == few == 7


def test_a_supervisor_deactivates_and_reorders_reasons_in_the_list(client):
    client.force_login(make_staff("lead", role=roles.SUPERVISOR))
    reason = ReturnReason.objects.get(code="changed_mind")
    others = ReturnReason.objects.exclude(pk=reason.pk)
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": reason.pk,
        "form-0-sort_order": "5",
        "_save": "1",
    }
    before = list(others.values_list("pk", "is_active", "sort_order"))

    response = client.post(REASONS, data)

    assert response.status_code == 302
    reason.refresh_from_db()
    assert (reason.is_active, reason.sort_order) == (False, 5)
    assert list(others.values_list("pk", "is_active", "sort_order")) == before


def test_a_reason_is_never_deleted_and_its_code_is_fixed_once_made(admin_client):
    reason = ReturnReason.objects.get(code="changed_mind")

    assert admin_client.get(reverse("admin:aftersales_returnreason_delete", args=[reason.pk])).status_code == 403
    page = admin_client.get(reverse("admin:aftersales_returnreason_change", args=[reason.pk]))
    assert "code" not in page.context["adminform"].form.fields
    assert "code" in admin_client.get(reverse("admin:aftersales_returnreason_add")).context["adminform"].form.fields


def test_an_agent_reads_the_reasons_but_cannot_edit_them(client):
    client.force_login(make_staff("agent", role=roles.AGENT))

    listing = client.get(REASONS)

    assert listing.status_code == 200
    assert listing.context["cl"].formset is None
    assert client.get(WORDS).status_code == 403


def test_the_escalation_word_list_runs_the_same_queries_for_5_and_for_50_words(client):
    client.force_login(make_staff("lead", role=roles.SUPERVISOR))
    EscalationWord.objects.create(word="退一赔三")
    few, response = count_queries(client, WORDS)
    assert len(response.context["cl"].result_list) == 5  # four seeded by 0006

    EscalationWord.objects.bulk_create([EscalationWord(word=f"词{n}") for n in range(45)])
    many, response = count_queries(client, WORDS)

    assert len(response.context["cl"].result_list) == 50
    assert many == few == 7


# --- refund authorities -----------------------------------------------------------------------------------------------


def authority_form(**values):
    return {"shop": "", "user": "", "group": "", "max_amount": "100.00", **values}


def form_errors(response):
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


@pytest.fixture
def supervisor_a(shop_a):
    return make_staff("lead-a", role=roles.SUPERVISOR, shops=[shop_a])


def test_the_authority_list_runs_the_same_queries_for_5_and_for_50_authorities(client, shop_a, supervisor_a):
    client.force_login(supervisor_a)
    agents = [make_staff(f"agent-{n}", role=roles.AGENT, shops=[shop_a]) for n in range(48)]
    for agent in agents[:3]:
        grant_authority(agent, shop_a, "100.00")
    grant_authority(Group.objects.get(name=roles.AGENT), shop_a, "50.00")
    grant_authority(Group.objects.get(name=roles.SUPERVISOR), shop_a, "2000.00")
    few, response = count_queries(client, AUTHORITIES)
    assert len(response.context["cl"].result_list) == 5

    for agent in agents[3:]:
        grant_authority(agent, shop_a, "200.00")
    many, response = count_queries(client, AUTHORITIES)

    assert len(response.context["cl"].result_list) == 50
    assert many == few == 9


def test_a_supervisor_sees_and_grants_authorities_only_in_their_shops(client, shop_a, shop_b, supervisor_a):
    agent_a = make_staff("agent-a", role=roles.AGENT, shops=[shop_a])
    agent_b = make_staff("agent-b", role=roles.AGENT, shops=[shop_b])
    mine = grant_authority(agent_a, shop_a, "100.00")
    theirs = grant_authority(agent_b, shop_b, "100.00")
    client.force_login(supervisor_a)

    listing = client.get(AUTHORITIES)
    assert [authority.pk for authority in listing.context["cl"].result_list] == [mine.pk]
    assert client.get(reverse("admin:aftersales_refundauthority_change", args=[theirs.pk])).status_code == 302
    form = client.get(ADD_AUTHORITY).context["adminform"].form
    assert list(form.fields["shop"].queryset) == [shop_a]
    assert set(form.fields["user"].queryset) == {agent_a, supervisor_a}

    refused = client.post(ADD_AUTHORITY, authority_form(shop=shop_b.pk, user=agent_a.pk))
    assert "shop" in form_errors(refused)
    refused = client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, user=agent_b.pk))
    assert "user" in form_errors(refused)
    assert RefundAuthority.objects.count() == 2


def test_a_supervisor_raises_an_agents_authority(client, shop_a, supervisor_a):
    agent = make_staff("agent-a", role=roles.AGENT, shops=[shop_a])
    authority = grant_authority(agent, shop_a, "100.00")
    grant_authority(supervisor_a, shop_a, "2000.00")
    client.force_login(supervisor_a)

    response = client.post(
        reverse("admin:aftersales_refundauthority_change", args=[authority.pk]),
        authority_form(shop=shop_a.pk, user=agent.pk, max_amount="300.00"),
    )

    assert response.status_code == 302
    authority.refresh_from_db()
    assert authority.max_amount == Decimal("300.00")


def test_an_authority_for_both_a_user_and_a_group_or_for_neither_is_a_form_error(client, shop_a, supervisor_a):
    agent = make_staff("agent-a", role=roles.AGENT, shops=[shop_a])
    group = Group.objects.get(name=roles.AGENT)
    client.force_login(supervisor_a)

    both = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, user=agent.pk, group=group.pk)))
    neither = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk)))

    assert both == {"user": ["请选择用户或用户组之一，不能同时选择；另一个请单独添加一条。"]}
    assert neither == {"user": ["请选择该权限所属的用户或用户组。"]}
    assert not RefundAuthority.objects.exists()


def test_a_second_authority_for_the_same_user_or_group_in_a_shop_is_a_form_error(client, shop_a, supervisor_a):
    agent = make_staff("agent-a", role=roles.AGENT, shops=[shop_a])
    group = Group.objects.get(name=roles.AGENT)
    grant_authority(agent, shop_a, "100.00")
    grant_authority(group, shop_a, "50.00")
    client.force_login(supervisor_a)

    for_user = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, user=agent.pk)))
    for_group = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, group=group.pk)))

    assert for_user == {"user": ["agent-a 在 A店 已有退款权限，请修改原有记录。"]}
    assert for_group == {"group": ["用户组 客服 在 A店 已有退款权限，请修改原有记录。"]}
    assert RefundAuthority.objects.count() == 2


def test_nobody_but_the_superuser_sets_their_own_authority(client, admin_client, admin_user, shop_a, supervisor_a):
    client.force_login(supervisor_a)

    own = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, user=supervisor_a.pk)))
    own_group = form_errors(
        client.post(ADD_AUTHORITY, authority_form(shop=shop_a.pk, group=Group.objects.get(name=roles.SUPERVISOR).pk))
    )
    assert list(own) == ["user"]
    assert list(own_group) == ["group"]
    assert not RefundAuthority.objects.exists()

    manager = make_staff("manager-a", role=roles.MANAGER, shops=[shop_a])
    client.force_login(manager)
    response = client.post(
        ADD_AUTHORITY, authority_form(shop=shop_a.pk, group=Group.objects.get(name=roles.SUPERVISOR).pk)
    )
    assert response.status_code == 302
    assert RefundAuthority.objects.get().max_amount == Decimal("100.00")


def test_an_agent_reads_the_authorities_of_their_shop_but_cannot_change_them(client, shop_a):
    agent = make_staff("agent-a", role=roles.AGENT, shops=[shop_a])
    authority = grant_authority(agent, shop_a, "100.00")
    client.force_login(agent)

    assert client.get(AUTHORITIES).status_code == 200
    assert client.get(ADD_AUTHORITY).status_code == 403
    page = client.get(reverse("admin:aftersales_refundauthority_change", args=[authority.pk]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
