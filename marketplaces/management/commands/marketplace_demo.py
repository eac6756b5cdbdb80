"""`make run`'s marketplace: connect the demo shops of the platforms the simulator serves to the local simulator
(nothing reaches the internet), point its pushes at this desk, and play buyers asking for refunds every few seconds
on orders not yet shipped, so a newcomer watches after-sales arrive by push and refunds get agreed and confirmed.

python manage.py marketplace_demo [--simulator http://127.0.0.1:8765] [--desk http://127.0.0.1:8000]
                                  [--every 20] [--count 0 (forever)]
"""

import random
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Order, Shop
from marketplaces.adapters import has_adapter
from marketplaces.models import ShopConnection
from marketplaces.services import connection_connect

APP_KEY = "demo-app"
APP_SECRET = "demo-secret-not-for-production"  # noqa: S105 - the local simulator's throwaway app
# Per platform code: the simulator's module (its URL prefix and control API) and the gateway's path under it. A
# platform joins `make run` with a line here; its simulator module answers the same control calls (app, shop,
# push_target, demo_apply {shop_id, shop_token, order_id, amount, reason} → {platform_id}).
SIMULATED = {
    "tmall": ("taobao", "/router/rest"),
    "taobao": ("taobao", "/router/rest"),
    "douyin": ("douyin", ""),
    "jd": ("jd", "/routerjson"),
    "wechat": ("wechat", ""),
    "pinduoduo": ("pinduoduo", "/api/router"),
}


class Command(BaseCommand):
    help = "Connect the demo shops to the local marketplace simulator and play buyers asking for refunds."

    def add_arguments(self, parser):
        parser.add_argument("--simulator", default="http://127.0.0.1:8765")
        parser.add_argument("--desk", default="http://127.0.0.1:8000")
        parser.add_argument("--every", type=float, default=20.0, help="seconds between two buyers' requests")
        parser.add_argument("--count", type=int, default=0, help="requests to make (0: until stopped)")

    def handle(self, *args, simulator, desk, every, count, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("marketplace_demo connects shops to a local simulator; it refuses to run in production.")
        client = httpx.Client(base_url=simulator, timeout=10)
        self._wait_for(client)
        connected = []
        for shop in Shop.objects.filter(platform__code__in=list(SIMULATED)).select_related("platform"):
            if not has_adapter(shop.platform.code):
                continue
            existing = ShopConnection.objects.filter(shop=shop).values_list("gateway_url", flat=True).first()
            if existing and not existing.startswith(simulator):
                continue  # a shop connected elsewhere (its real platform, another simulator) is never taken over
            module, gateway_path = SIMULATED[shop.platform.code]
            token = f"demo-session-{shop.code}"
            shop_id = shop.platform_shop_id or shop.code
            control = f"/_control/{module}"
            client.post(f"{control}/app", json={"app_key": APP_KEY, "secret": APP_SECRET}).raise_for_status()
            registered = client.post(
                f"{control}/shop",
                json={
                    "shop_id": shop_id,
                    "token": token,
                    "app_key": APP_KEY,
                    "is_tmall": shop.platform.code == "tmall",
                },
            )
            registered.raise_for_status()
            connection = connection_connect(
                shop=shop,
                gateway_url=f"{simulator}/{module}{gateway_path}",
                app_key=APP_KEY,
                app_secret=APP_SECRET,
                access_token=token,
                token_expires_at=timezone.now() + timedelta(days=30),
                # A platform that signs its pushes with secrets of their own (WeChat shop's Token and EncodingAESKey)
                # hands them out with the shop.
                push_secret=registered.json().get("push_secret", ""),
            )
            push_url = desk + reverse("marketplaces:push", args=[connection.pk])
            client.post(f"{control}/push_target", json={"url": push_url}).raise_for_status()
            connected.append((shop, control, token, shop_id))
            self.stdout.write(f"{shop.name}: connected to the simulator ({simulator}/{module}), pushes to {push_url}")
        if not connected:
            self.stdout.write("no demo shop on a simulated platform")
            return
        made = 0
        while not count or made < count:
            shop, control, token, shop_id = random.choice(connected)  # noqa: S311 - demo traffic
            order = (
                Order.objects.filter(shop=shop, shipped_at__isnull=True)
                .exclude(pk__in=AfterSalesTicket.objects.filter(shop=shop).values("order_id"))
                .order_by("?")
                .first()
            )
            if order is None:
                self.stdout.write(f"{shop.name}: no unshipped order left without a ticket")
                connected.remove((shop, control, token, shop_id))
                if not connected:
                    return
                continue
            amount = min(order.refundable_amount, order.paid_amount)
            # Every simulated platform answers `demo_apply` with its own shape of a buyer's 未发货仅退款.
            answer = client.post(
                f"{control}/demo_apply",
                json={
                    "shop_id": shop_id,
                    "shop_token": token,
                    "order_id": order.platform_order_id,
                    "amount": str(amount),
                    "reason": "不想要了",
                },
            )
            answer.raise_for_status()
            platform_id = answer.json()["platform_id"]
            made += 1
            self.stdout.write(
                f"{shop.name}: a buyer asks back ¥{amount} on order {order.platform_order_id} (refund {platform_id})"
            )
            time.sleep(every)

    def _wait_for(self, client) -> None:
        for _attempt in range(50):
            try:
                client.get("/")
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise CommandError(f"the simulator does not answer at {client.base_url}")
