"""A platform's deadlines are those of every shop on it: a manager of one Douyin shop must not change another's."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from aftersales import roles
from aftersales.models import Platform
from tests.factories import ShopFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def douyin():
    return Platform.objects.get(code="douyin")


@pytest.fixture
def shop_1(douyin):
    return ShopFactory(name="一号店", platform=douyin)


@pytest.fixture
def shop_2(douyin):
    return ShopFactory(name="二号店", platform=douyin)


def change(client, platform, **hours):
    data = {
        "refund_response_hours": platform.refund_response_hours,
        "return_response_hours": platform.return_response_hours,
        "platform_step_response_hours": platform.platform_step_response_hours,
        "receipt_confirm_days": platform.receipt_confirm_days,
        "buyer_return_upload_days": platform.buyer_return_upload_days,
        **hours,
    }
    return client.post(reverse("admin:aftersales_platform_change", args=[platform.pk]), data)


def test_a_manager_of_one_shop_cannot_change_the_platform_another_shop_is_on(client, douyin, shop_1, shop_2):
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))
    before = douyin.refund_response_hours

    page = client.get(reverse("admin:aftersales_platform_change", args=[douyin.pk]))
    response = change(client, douyin, refund_response_hours=1)

    assert page.status_code == 200  # they may read it
    assert not page.context["has_change_permission"]
    assert response.status_code == 403
    douyin.refresh_from_db()
    assert douyin.refund_response_hours == before


def test_a_manager_of_every_shop_on_the_platform_changes_it(client, douyin, shop_1, shop_2):
    ShopFactory(name="天猫店")  # on Tmall: not theirs to cover
    client.force_login(make_staff("manager-both", role=roles.MANAGER, shops=[shop_1, shop_2]))

    response = change(client, douyin, refund_response_hours=24)

    assert response.status_code == 302
    douyin.refresh_from_db()
    assert douyin.refund_response_hours == 24


def test_a_platform_no_shop_is_on_yet_is_changed_only_by_someone_covering_every_shop(client, shop_1):
    jd = Platform.objects.get(code="jd")
    ShopFactory(name="天猫店")
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))
    before = jd.refund_response_hours

    response = change(client, jd, refund_response_hours=1)

    assert response.status_code == 403
    jd.refresh_from_db()
    assert jd.refund_response_hours == before


def test_a_superuser_changes_any_platform(client, douyin, shop_1, shop_2):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))

    response = change(client, douyin, return_response_hours=36)

    assert response.status_code == 302
    douyin.refresh_from_db()
    assert douyin.return_response_hours == 36
