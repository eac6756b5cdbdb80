"""Refund authorities are set from above (逐级授权): a supervisor gives agents at most their own authority, a manager
sets supervisors', and every grant, change and removal is an AuthorityGrantEvent, old → new."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from aftersales import roles
from aftersales.models import AuthorityGrantEvent, RefundAuthority
from aftersales.services.authority import refund_authority_grant, refund_authority_revoke
from desk.errors import ActionRefused
from tests.factories import ShopFactory, grant_authority, make_staff

pytestmark = pytest.mark.django_db

ADD_AUTHORITY = reverse("admin:aftersales_refundauthority_add")


def change_url(authority):
    return reverse("admin:aftersales_refundauthority_change", args=[authority.pk])


def authority_form(**values):
    return {"shop": "", "user": "", "group": "", "max_amount": "100.00", **values}


def form_errors(response):
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def lead(shop):
    """A supervisor whose own authority in the shop is ¥2,000."""
    user = make_staff("lead-a", role=roles.SUPERVISOR, shops=[shop])
    grant_authority(user, shop, "2000.00")
    return user


@pytest.fixture
def agent(shop):
    return make_staff("agent-a", role=roles.AGENT, shops=[shop])


def test_a_supervisor_grants_an_agent_up_to_their_own_authority_and_the_grant_is_recorded(client, shop, lead, agent):
    client.force_login(lead)

    response = client.post(ADD_AUTHORITY, authority_form(shop=shop.pk, user=agent.pk, max_amount="2000.00"))

    assert response.status_code == 302
    assert RefundAuthority.objects.get(shop=shop, user=agent).max_amount == Decimal("2000.00")
    event = AuthorityGrantEvent.objects.get(user=agent)
    assert (event.actor, event.shop, event.action, event.old_amount, event.new_amount) == (
        lead,
        shop,
        "granted",
        None,
        Decimal("2000.00"),
    )


def test_a_supervisor_cannot_grant_more_than_their_own_authority_and_nothing_is_written(client, shop, lead, agent):
    mine = grant_authority(agent, shop, "100.00")
    client.force_login(lead)

    new_agent = make_staff("agent-b", role=roles.AGENT, shops=[shop])
    added = form_errors(
        client.post(ADD_AUTHORITY, authority_form(shop=shop.pk, user=new_agent.pk, max_amount="1000000"))
    )
    raised = form_errors(client.post(change_url(mine), authority_form(max_amount="1000000.00")))

    assert added == {"max_amount": ["你最多只能授予自己在 A店 的权限 ¥2000.00。"]}
    assert list(raised) == ["max_amount"]
    mine.refresh_from_db()
    assert mine.max_amount == Decimal("100.00")
    assert not RefundAuthority.objects.filter(user=new_agent).exists()
    assert not AuthorityGrantEvent.objects.exists()
    with pytest.raises(ActionRefused) as refused:
        refund_authority_grant(shop=shop, by=lead, user=agent, max_amount=Decimal("2000.01"))
    assert refused.value.code == "over_authority"


def test_a_supervisor_cannot_set_a_fellow_supervisors_or_a_groups_or_their_own_authority(client, shop, lead):
    fellow = make_staff("lead-b", role=roles.SUPERVISOR, shops=[shop])
    fellows_row = grant_authority(fellow, shop, "2000.00")
    own_row = RefundAuthority.objects.get(user=lead)
    client.force_login(lead)

    to_fellow = form_errors(client.post(change_url(fellows_row), authority_form(max_amount="1000.00")))
    to_group = form_errors(
        client.post(ADD_AUTHORITY, authority_form(shop=shop.pk, group=Group.objects.get(name=roles.AGENT).pk))
    )
    to_self = form_errors(client.post(change_url(own_row), authority_form(max_amount="1000000.00")))

    assert to_fellow == {"__all__": ["你只能设置客服的权限；主管或经理的权限由经理设置。"]}
    assert to_group == {"group": ["用户组的权限由经理设置。"]}
    assert to_self == {"__all__": ["不能设置自己的权限，请找经理或店主。"]}
    assert sorted(RefundAuthority.objects.values_list("max_amount", flat=True)) == [
        Decimal("2000.00"),
        Decimal("2000.00"),
    ]
    assert not AuthorityGrantEvent.objects.exists()


def test_a_manager_sets_a_supervisors_authority_without_a_cap_but_not_another_managers(client, shop, lead):
    manager = make_staff("manager-a", role=roles.MANAGER, shops=[shop])
    other_manager = make_staff("manager-b", role=roles.MANAGER, shops=[shop])
    client.force_login(manager)

    response = client.post(change_url(RefundAuthority.objects.get(user=lead)), authority_form(max_amount="5000.00"))
    refused = form_errors(client.post(ADD_AUTHORITY, authority_form(shop=shop.pk, user=other_manager.pk)))

    assert response.status_code == 302
    assert RefundAuthority.objects.get(user=lead).max_amount == Decimal("5000.00")
    event = AuthorityGrantEvent.objects.get()
    assert (event.actor, event.user, event.action, event.old_amount, event.new_amount) == (
        manager,
        lead,
        "changed",
        Decimal("2000.00"),
        Decimal("5000.00"),
    )
    assert list(refused) == ["user"]
    assert not RefundAuthority.objects.filter(user=other_manager).exists()


def test_removing_an_authority_records_its_last_amount(admin_client, admin_user, shop, agent):
    authority = grant_authority(agent, shop, "300.00")

    response = admin_client.post(
        reverse("admin:aftersales_refundauthority_delete", args=[authority.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not RefundAuthority.objects.filter(pk=authority.pk).exists()
    event = AuthorityGrantEvent.objects.get()
    assert (event.actor, event.user, event.action, event.old_amount, event.new_amount) == (
        admin_user,
        agent,
        "revoked",
        Decimal("300.00"),
        None,
    )


def test_a_supervisor_cannot_revoke_even_through_the_service(shop, lead, agent):
    authority = grant_authority(agent, shop, "300.00")

    with pytest.raises(ActionRefused) as refused:
        refund_authority_revoke(authority=authority, by=lead)

    assert refused.value.code == "not_permitted"
    assert RefundAuthority.objects.filter(pk=authority.pk).exists()
    assert not AuthorityGrantEvent.objects.exists()
