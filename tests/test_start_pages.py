"""Each role's own start (config.start_pages), the roles' names in people's language, and the batch refund's result
ticket by ticket."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from aftersales import roles
from aftersales.selectors import system_user
from aftersales.services import ticket_approve_refund
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db

STARTS = {
    roles.AGENT: "/admin/aftersales/aftersalesticket/",
    roles.SUPERVISOR: "/admin/aftersales/approvalrequest/",
    roles.WAREHOUSE: "/warehouse/",
    roles.MANAGER: "/metrics/",
}


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_lands_on_its_start_page_after_logging_in(client, role):
    make_staff("someone", role=role, shops=[ShopFactory()], password="Start-Page-2026")

    response = client.post(
        reverse("admin:login") + "?next=/admin/", {"username": "someone", "password": "Start-Page-2026"}, follow=True
    )

    assert response.redirect_chain[-1] == (STARTS[role], 302)


@pytest.mark.parametrize("role", roles.ROLES)
def test_the_admin_home_sends_a_role_to_its_start_and_menu_1_shows_every_menu(client, role):
    client.force_login(make_staff("someone", role=role, shops=[ShopFactory()]))

    assert client.get("/admin/").url == STARTS[role]
    assert client.get("/admin/?menu=1").status_code == 200


def test_a_superuser_and_a_user_in_no_role_keep_the_admin_home(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    assert client.get("/admin/").status_code == 200

    client.force_login(make_staff("plain"))
    assert client.get("/admin/").status_code == 200


def test_someone_in_two_roles_starts_on_the_wider_ones_page(client):
    user = make_staff("lead", role=roles.AGENT, shops=[ShopFactory()])
    user.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    client.force_login(user)

    assert client.get("/admin/").url == STARTS[roles.SUPERVISOR]


def test_a_visitor_who_is_not_logged_in_is_asked_to_log_in(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_roles_show_under_their_chinese_names_on_the_group_and_user_pages(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    clerk = make_staff("clerk", role=roles.WAREHOUSE)

    groups = client.get(reverse("admin:auth_group_changelist")).content.decode()
    users = client.get(reverse("admin:auth_user_changelist")).content.decode()
    user_page = client.get(reverse("admin:auth_user_change", args=[clerk.pk])).content.decode()

    for label in ("客服", "主管", "仓库", "经理"):
        assert label in groups
        assert f">{label}</option>" in user_page
    assert '<td class="field-role_labels">仓库</td>' in users
    assert ">Warehouse</option>" not in user_page
    assert Group.objects.filter(name="Warehouse").exists()  # the name stays the key


def test_the_user_list_runs_the_same_queries_for_3_and_for_30_users(client, django_user_model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(django_user_model.objects.create_superuser("root", password="x"))

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
        return len(queries)

    for number in range(3):
        make_staff(f"a{number}", role=roles.AGENT)
    few = count()
    for number in range(27):
        make_staff(f"b{number}", role=roles.SUPERVISOR)

    assert count() == few


def test_the_batch_refunds_result_lists_each_ticket_with_its_outcome(client):
    shop = ShopFactory()
    agent = make_staff("agent", role=roles.AGENT, shops=[shop])
    grant_authority(agent, shop, "50.00")
    small = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="30.00")
    large = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="90.00")
    done = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="10.00")
    ticket_approve_refund(ticket=done, by=system_user())
    client.force_login(agent)
    selection = {"action": "batch_refund", "_selected_action": [small.pk, large.pk, done.pk], "confirm": "yes"}

    page = client.post(reverse("admin:aftersales_aftersalesticket_changelist"), selection).content.decode()

    rows = page.split('id="batch-refund-outcomes"')[1].split("</table>")[0]
    assert rows.count("<tr class=") == 3
    refunded = rows.split('class="outcome-refunded"')[1].split("</tr>")[0]
    approval = rows.split('class="outcome-approval"')[1].split("</tr>")[0]
    refused = rows.split('class="outcome-refused"')[1].split("</tr>")[0]
    assert f"#{small.pk}<" in refunded
    assert "退款已发起" in refunded
    assert "¥30.00" in refunded
    assert f"#{large.pk}<" in approval
    assert "已转主管审批：超出您的权限" in approval
    assert "¥90.00" in approval
    assert f"#{done.pk}<" in refused
    assert "售后单处于“退款中”状态，不能进行此操作。" in refused


def test_the_refund_authority_pages_name_the_role_groups_in_chinese(client):
    shop = ShopFactory()
    supervisor = make_staff("lead", role=roles.SUPERVISOR, shops=[shop])
    grant_authority(supervisor, shop, "5000.00")
    grant_authority(Group.objects.get(name=roles.AGENT), shop, "50.00")
    client.force_login(supervisor)

    listing = client.get(reverse("admin:aftersales_refundauthority_changelist")).content.decode()
    form = client.get(reverse("admin:aftersales_refundauthority_add")).content.decode()

    assert '<td class="field-group_label">客服</td>' in listing
    assert ">客服</option>" in form
    assert ">Agent</option>" not in form
