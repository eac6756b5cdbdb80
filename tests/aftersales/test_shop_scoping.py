"""Per-shop object permissions: every role assigned to shop A is blind and powerless on shop B, through every door."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from aftersales import roles
from aftersales.models import Order
from aftersales.selectors import shops_for_user
from aftersales.services import shop_set_members
from tests.factories import OrderFactory, OrderLineFactory, ShopFactory, make_staff

pytestmark = pytest.mark.django_db

ORDER_CHANGELIST = reverse("admin:aftersales_order_changelist")


@pytest.fixture
def two_shops():
    shop_a = ShopFactory(name="A店")
    shop_b = ShopFactory(name="B店")
    order_a = OrderLineFactory(order__shop=shop_a, order__platform_order_id="A-0001").order
    order_b = OrderLineFactory(order__shop=shop_b, order__platform_order_id="B-0001").order
    return shop_a, shop_b, order_a, order_b


def change_url(order):
    return reverse("admin:aftersales_order_change", args=[order.pk])


@pytest.mark.parametrize("role", roles.ROLES)
def test_role_of_shop_a_lists_and_opens_only_shop_a_orders(client, two_shops, role):
    shop_a, _shop_b, order_a, order_b = two_shops
    client.force_login(make_staff(f"{role.lower()}-a", role=role, shops=[shop_a]))

    listing = client.get(ORDER_CHANGELIST)
    assert listing.status_code == 200
    assert [o.pk for o in listing.context["cl"].result_list] == [order_a.pk]
    assert "B-0001" not in listing.content.decode()

    assert client.get(change_url(order_a)).status_code == 200
    opening_b = client.get(change_url(order_b))
    assert opening_b.status_code == 302  # the admin's "does not exist" redirect: B's order is not even confirmed
    assert "B-0001" not in client.get(opening_b.url).content.decode()
    assert client.get(reverse("admin:aftersales_order_history", args=[order_b.pk])).status_code == 302


@pytest.mark.parametrize("role", roles.ROLES)
def test_role_of_shop_a_cannot_change_or_delete_a_shop_b_order(client, two_shops, role):
    shop_a, _shop_b, _order_a, order_b = two_shops
    client.force_login(make_staff(f"{role.lower()}-a", role=role, shops=[shop_a]))

    response = client.post(
        change_url(order_b),
        {
            "shop": order_b.shop_id,
            "platform_order_id": "HIJACKED",
            "paid_amount": "0.01",
            "paid_at_0": "2026-11-01",
            "paid_at_1": "10:00:00",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code in {302, 403}
    assert client.post(reverse("admin:aftersales_order_delete", args=[order_b.pk]), {"post": "yes"}).status_code in {
        302,
        403,
    }

    order_b.refresh_from_db()
    assert order_b.platform_order_id == "B-0001"
    assert order_b.paid_amount == Decimal("199.00")


@pytest.mark.parametrize("role", roles.ROLES)
def test_batch_action_ignores_a_shop_b_order_slipped_into_the_selection(client, two_shops, role):
    shop_a, _shop_b, order_a, order_b = two_shops
    client.force_login(make_staff(f"{role.lower()}-a", role=role, shops=[shop_a]))

    response = client.post(
        ORDER_CHANGELIST,
        {
            "action": "export_xlsx",
            "_selected_action": [order_a.pk, order_b.pk],
            "index": 0,
        },
    )

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    exported_ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert exported_ids == ["A-0001"]


@pytest.mark.parametrize("role", roles.ROLES)
def test_shop_filter_and_import_form_offer_only_the_users_shops(client, two_shops, role):
    shop_a, _shop_b, _order_a, _order_b = two_shops
    client.force_login(make_staff(f"{role.lower()}-a", role=role, shops=[shop_a]))

    listing = client.get(ORDER_CHANGELIST)
    shop_filter = next(spec for spec in listing.context["cl"].filter_specs if spec.parameter_name == "shop")
    assert [name for _value, name in shop_filter.lookup_choices] == ["A店"]
    # Asking the filter for shop B by its id shows nothing rather than B's orders.
    filtered = client.get(ORDER_CHANGELIST, {"shop": _order_b.shop_id})
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == []

    importing = client.get(reverse("admin:aftersales_order_import"))
    if role in {roles.SUPERVISOR, roles.MANAGER}:
        assert importing.status_code == 200
        assert list(importing.context["form"].fields["shop"].queryset) == [shop_a]
    else:
        assert importing.status_code == 403


def test_shop_list_shows_only_assigned_shops_and_a_foreign_shop_page_is_closed(client, two_shops):
    shop_a, shop_b, _order_a, _order_b = two_shops
    client.force_login(make_staff("manager-a", role=roles.MANAGER, shops=[shop_a]))

    listing = client.get(reverse("admin:aftersales_shop_changelist"))
    assert [shop.pk for shop in listing.context["cl"].result_list] == [shop_a.pk]
    assert client.get(reverse("admin:aftersales_shop_change", args=[shop_b.pk])).status_code == 302


def test_a_user_without_a_shop_sees_no_orders_even_with_the_role(client, two_shops):
    client.force_login(make_staff("unassigned", role=roles.SUPERVISOR))

    listing = client.get(ORDER_CHANGELIST)

    assert list(listing.context["cl"].result_list) == []


def test_assignment_through_a_group_counts_like_a_direct_one(two_shops):
    shop_a, _shop_b, _order_a, _order_b = two_shops
    team = Group.objects.create(name="A店售后组")
    user = make_staff("via-group", role=roles.AGENT)
    user.groups.add(team)
    assert list(shops_for_user(user)) == []

    shop_set_members(shop=shop_a, users=[], groups=[team])

    assert list(shops_for_user(user)) == [shop_a]


def test_shop_set_members_adds_and_removes_assignments(two_shops):
    shop_a, _shop_b, _order_a, _order_b = two_shops
    stays = make_staff("stays", shops=[shop_a])
    leaves = make_staff("leaves", shops=[shop_a])
    joins = make_staff("joins")

    shop_set_members(shop=shop_a, users=[stays, joins])

    assert list(shops_for_user(stays)) == [shop_a]
    assert list(shops_for_user(joins)) == [shop_a]
    assert list(shops_for_user(leaves)) == []


def test_only_a_superuser_sees_the_shop_members_field(admin_client, client, two_shops):
    shop_a, _shop_b, _order_a, _order_b = two_shops
    client.force_login(make_staff("manager-a", role=roles.MANAGER, shops=[shop_a]))
    url = reverse("admin:aftersales_shop_change", args=[shop_a.pk])

    assert "members" in admin_client.get(url).context["adminform"].form.fields
    assert "members" not in client.get(url).context["adminform"].form.fields


def test_superuser_sees_every_shop(admin_client, two_shops):
    listing = admin_client.get(ORDER_CHANGELIST)

    assert {o.platform_order_id for o in listing.context["cl"].result_list} == {"A-0001", "B-0001"}


def test_order_changelist_query_count_does_not_grow_with_rows(client):
    shop = ShopFactory()
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))
    OrderFactory.create_batch(3, shop=shop)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ORDER_CHANGELIST).status_code == 200
        return len(queries)

    with_few = count_queries()
    OrderFactory.create_batch(45, shop=shop)
    with_many = count_queries()

    assert with_few == with_many
    assert with_many <= 12
    assert Order.objects.filter(shop=shop).count() == 48
