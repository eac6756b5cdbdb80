"""A manager enters a WeChat shop's push Token and EncodingAESKey in the connection's page: stored encrypted, never
shown back, and a value the push could not use is refused on the form."""

import json

import pytest

from aftersales import roles
from aftersales.models import Platform
from marketplaces import crypto
from marketplaces.models import ShopConnection
from tests.factories import ShopFactory, make_staff
from tests.marketplaces.conftest import seed_reference_rows

pytestmark = pytest.mark.django_db

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


def post(client, shop, push_secret: str):
    return client.post(
        "/admin/marketplaces/shopconnection/add/",
        {
            "shop": shop.pk,
            "gateway_url": "https://api.weixin.qq.com",
            "app_key": "wx1234567890abcdef",
            "app_secret": "app-secret-never-shown",
            "access_token": "token-never-shown",
            "push_secret": push_secret,
            "return_address_id": "",
            "is_enabled": "on",
        },
    )


def test_a_managers_push_secret_is_stored_encrypted_and_a_bad_one_refused(client):
    seed_reference_rows()
    client.force_login(make_staff("manager", role=roles.MANAGER))
    shop = ShopFactory(platform=Platform.objects.get(code="wechat"), platform_shop_id="wx-admin")

    refused = post(client, shop, '{"token": "T", "encoding_aes_key": "too-short"}')
    assert refused.status_code == 200  # the form again, with its error
    assert not ShopConnection.objects.exists()

    secret = json.dumps({"token": "T0ken-never-shown", "encoding_aes_key": KEY})
    saved = post(client, shop, secret)

    assert saved.status_code == 302
    connection = ShopConnection.objects.get(shop=shop)
    assert crypto.decrypt(connection.push_secret_encrypted) == secret
    page = client.get(f"/admin/marketplaces/shopconnection/{connection.pk}/change/")
    assert b"T0ken-never-shown" not in page.content
