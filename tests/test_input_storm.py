"""A storm of malformed input at every door that writes: each POST route of the API (read from the URL resolver, so
a new route without bodies here fails), the 抖店 push and the tracking webhooks signed (so the bad input reaches
past the signature), and the admin's act form for every ticket move. At least 200 bodies per door, deterministic
(a seeded random over a fixed list of bad values): JSON nested 5,000 deep, lone surrogates (as JSON escapes and as
raw invalid UTF-8), NUL and control characters, strings of 300 and 10,000 characters and one past each column's
length, the wrong JSON type (true, 1, [], {}) in every field, a body over the size limit, an empty body, non-JSON
and the wrong content type.

Every answer is below 500; no table gains a row; and the last-line safety net (config.middleware,
desk.api.support's handler) never fires, because the checks in desk.input_checks refuse everything first.
"""

import base64
import hashlib
import json
import logging
import random
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import ApprovalRequest, Platform
from aftersales.ticket_actions import ACTIONS, TEXT_LIMITS
from logistics.models import InterceptRequest, Shipment, TrackingAccount, TrackingProvider
from logistics.tracking_formats import bulk_sign
from tests.api.rows import fill_shop
from tests.factories import ShopFactory, delivered_order, open_ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BODIES_PER_DOOR = 200
SEED = 17
DEEP = object()  # replaced by 5,000 nested arrays when the body is written
DEEP_TEXT = "[" * 5000 + "]" * 5000
DOUYIN_KEY, DOUYIN_SECRET = "7100000000000000001", "storm-secret"
SALT, KDN_KEY, KDN_ACCOUNT, BULK_KEY = "storm-salt", "storm-kdn", "1683526", "storm-bulk"

# Refused wherever they appear in JSON: the parser (input_checks.loads_json) reads no further.
EVERYWHERE = ["\ud800", "a\udfffb", "a\x00b", "\x00", DEEP, {"a": DEEP}]
WRONG_FOR_TEXT = [True, False, 1, -1, 1.5, [], {}, ["a"], {"a": "b"}]


def bad_values(kind: str, max_length: int | None = None) -> list:
    """Values that must be refused in a field of this kind, whatever the rest of the body holds."""
    long_texts = []
    if max_length is not None:
        long_texts = ["x" * (max_length + 1), "x" * 10_000]
        if max_length < 300:
            long_texts.append("字" * 300)
    values = {
        "text": [*WRONG_FOR_TEXT, *long_texts, "a\x07b", "\x1b[31m"],
        # An id that may also be a whole number (抖店's ids): every other wrong type.
        "id": [True, False, 1.5, [], {}, ["a"], {"a": "b"}, *long_texts, "a\x07b"],
        "enum": [*WRONG_FOR_TEXT, "nope", "x" * 300, "x" * 10_000],
        "time": [*WRONG_FOR_TEXT, "x", "2026-13-01T00:00:00+08:00", "x" * 300, "x" * 10_000],
        "decimal": [True, False, [], {}, "abc", "1e999", "NaN", "-1", "x" * 10_000],
        "integer": [True, False, [], {}, "abc", 1.5, 10**30, "x" * 10_000],
        "boolean": [[], {}, "maybe", 2, "x" * 10_000],
        "list": [True, 1, "x", {}, [], None],
        # A status code: a number or digits, nothing else.
        "code": [True, [], {}, "abc", "12345", 1.5, "x" * 10_000],
        # Free text in an unbounded column (a scan's text): only the wrong type is refused.
        "free": [True, 1, [], {}],
    }[kind]
    return [*EVERYWHERE, *values]


def paths_of(spec: dict, prefix=()) -> list[tuple[tuple, list]]:
    """(path, bad values) for every field a spec describes; a spec maps a field to (kind, max_length) or to a
    nested spec (a dict, or a one-item list for a list's first element)."""
    found = []
    for key, value in spec.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            found.extend(paths_of(value, path))
        elif isinstance(value, list):
            found.append((path, bad_values("list")))
            found.extend(paths_of(value[0], (*path, 0)))
        else:
            found.append((path, bad_values(*value)))
    return found


def put(body, path: tuple, value):
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def mutated_bodies(base: dict, spec: dict, count: int = BODIES_PER_DOOR, seed: int = SEED) -> list:
    """Every field with every bad value of its kind, then random mixes of two or three of them, up to `count`."""
    pairs = [(path, value) for path, values in paths_of(spec) for value in values]
    bodies = [put(base, path, value) for path, value in pairs]
    rng = random.Random(seed)  # noqa: S311 - a reproducible storm, not a secret
    while len(bodies) < count:
        body = base
        for path, value in rng.sample(pairs, rng.randint(2, 3)):
            try:
                body = put(body, path, value)
            except (TypeError, KeyError, IndexError):
                continue  # an earlier pick replaced this field's parent
        bodies.append(body)
    return bodies


def encode(body, index: int) -> bytes:
    """JSON bytes; every other body writes its lone surrogates raw (invalid UTF-8) rather than as escapes."""
    text = json.dumps(body, ensure_ascii=index % 2 == 0, default=lambda value: "__DEEP__")
    text = text.replace('"__DEEP__"', DEEP_TEXT)
    return text.encode("utf-8", "surrogatepass")


def raw_bodies(valid: bytes) -> list[tuple[bytes, str]]:
    """Bodies that are not the route's JSON at all, with their content type."""
    over_limit = b'{"a": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    json_type = "application/json"
    return [
        (b"", json_type),
        (b"not json", json_type),
        (b"{", json_type),
        (b"null", json_type),
        (b"[]", json_type),
        (b"1", json_type),
        (b'"text"', json_type),
        (b"true", json_type),
        (DEEP_TEXT.encode(), json_type),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, json_type),
        (b'{"a": NaN}', json_type),
        (b'{"a": "\xed\xa0\x80"}', json_type),
        (b"\xff\xfe{}", json_type),
        (b'{"a": 1' + b"0" * 5000 + b"}", json_type),
        (over_limit, json_type),
        (valid, "text/plain"),
        (valid, "application/xml"),
        (b"a=\x00&b=%ED%A0%80", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    ]


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


# Tables whose rows may change without anything written on the caller's behalf: none so far.
EXCLUDED_TABLES: set[str] = set()


def assert_nothing_written(before: dict[str, int]) -> None:
    after = row_counts()
    gained = {label: after[label] - count for label, count in before.items() if after[label] != count}
    gained = {label: change for label, change in gained.items() if label not in EXCLUDED_TABLES}
    assert gained == {}


class Storm:
    """Sends the bodies, keeps every answer of 500 or more with the body that caused it."""

    def __init__(self, caplog):
        self.failures: list[str] = []
        self.sent = 0
        self.caplog = caplog

    def record(self, door: str, body, response) -> None:
        self.sent += 1
        if response.status_code >= 500:
            self.failures.append(f"{door} {response.status_code}: {repr(body)[:200]}")

    def check(self, minimum: int) -> None:
        assert self.failures == []
        assert self.sent >= minimum
        net = [r.getMessage()[:200] for r in self.caplog.records if "input no check refused" in r.getMessage()]
        assert net == [], "the last-line safety net caught input that a check should have refused"


@pytest.fixture
def storm(caplog):
    caplog.set_level(logging.WARNING)
    return Storm(caplog)


@pytest.fixture
def world(settings):
    settings.DOUYIN_APP_KEY, settings.DOUYIN_APP_SECRET = DOUYIN_KEY, DOUYIN_SECRET
    # The admin's refusals are messages; kept in the session, thousands of them would make each request slower
    # than the last. The cookie keeps the newest that fit.
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    user = get_user_model().objects.create_superuser("storm", password="pw")
    shop = ShopFactory(code="storm", platform=Platform.objects.get(code="douyin"), platform_shop_id="88001")
    fill_shop(shop, 1, user=user)
    ticket = open_ticket(delivered_order(shop=shop, platform_order_id="6920000000000001"))
    TrackingAccount.objects.create(shop=shop, provider=TrackingProvider.KUAIDI100, signing_key=SALT)
    TrackingAccount.objects.create(
        shop=shop, provider=TrackingProvider.KDNIAO, account_id=KDN_ACCOUNT, signing_key=KDN_KEY
    )
    TrackingAccount.objects.create(shop=shop, provider=TrackingProvider.BULK, signing_key=BULK_KEY)
    return {"user": user, "shop": shop, "ticket": ticket}


# --- the API's POST routes -------------------------------------------------------------------------------------------

T = ("text", None)


def api_routes(world) -> dict[str, tuple[str, dict, dict]]:
    """route pattern -> (url, a base body, the spec of its fields). The base is well formed; each body sent has at
    least one bad field."""
    shop, ticket = world["shop"], world["ticket"]
    approval = ApprovalRequest.objects.filter(shop=shop).first()
    intercept = InterceptRequest.objects.filter(shop=shop).first()
    now = timezone.now()
    order = {
        "shop": shop.code,
        "platform_order_id": "storm-1",
        "buyer_nick": "b",
        "receiver_name": "r",
        "receiver_phone": "1",
        "province": "浙江",
        "city": "杭州",
        "district": "西湖",
        "address": "a",
        "paid_amount": "10.00",
        "paid_at": (now - timedelta(days=1)).isoformat(),
        "courier_code": "SF",
        "tracking_number": "SF1",
        "lines": [{"sku": "A", "item_name": "i", "quantity": 1, "paid_amount": "10.00"}],
    }
    order_spec = {
        "shop": ("enum",),
        "platform_order_id": ("text", 64),
        "buyer_nick": ("text", 100),
        "receiver_name": ("text", 100),
        "receiver_phone": ("text", 32),
        "province": ("text", 20),
        "city": ("text", 40),
        "district": ("text", 40),
        "address": ("text", 255),
        "paid_amount": ("decimal",),
        "paid_at": ("time",),
        "courier_code": ("text", 20),
        "tracking_number": ("text", 40),
        "lines": [
            {"sku": ("text", 64), "item_name": ("text", 200), "quantity": ("integer",), "paid_amount": ("decimal",)}
        ],
    }
    act = {"amount": "5.00", "kind": "partial", "note": "n", "reason": "changed_mind"}
    act_spec = {
        "amount": ("decimal",),
        "kind": ("enum",),
        "ticket_kind": ("enum",),
        "note": ("text", TEXT_LIMITS["note"]),
        "reason": ("enum",),
        "courier_code": ("text", TEXT_LIMITS["courier_code"]),
        "tracking_number": ("text", TEXT_LIMITS["tracking_number"]),
        "case_number": ("text", TEXT_LIMITS["case_number"]),
        "evidence": ("text", TEXT_LIMITS["evidence"]),
        "liability": ("enum",),
    }
    act_base = {**act, "courier_code": "SF", "tracking_number": "SF2", "case_number": "C1", "evidence": "e"}
    chats = {"shop": shop.code, "rows": [{"platform_session_id": "S1", "started_at": "2026-11-03 10:00", "rating": 5}]}
    chats_spec = {
        "shop": ("enum",),
        "rows": [{"platform_session_id": ("text", 64), "started_at": ("time",), "rating": ("integer",)}],
    }
    reviews = {"shop": shop.code, "rows": [{"platform_order_id": "1", "reviewed_at": "2026-11-10 09:30", "rating": 5}]}
    reviews_spec = {
        "shop": ("enum",),
        "rows": [{"platform_order_id": ("text", 64), "reviewed_at": ("time",), "rating": ("integer",)}],
    }
    scores = {"shop": shop.code, "rows": [{"day": "2026-11-01", "score": "4.82"}]}
    scores_spec = {"shop": ("enum",), "rows": [{"day": ("time",), "score": ("decimal",)}]}
    return {
        "auth/token/": (reverse("api-token"), {"username": "storm", "password": "wrong"}, {"username": ("text", 150)}),
        "orders/": ("/api/v1/orders/", order, order_spec),
        "tickets/": (
            "/api/v1/tickets/",
            {
                "shop": shop.code,
                "platform_order_id": ticket.order.platform_order_id,
                "kind": "refund_only",
                "platform_kind": "1",
                "reason": "changed_mind",
                "buyer_message": "m",
                "platform_ticket_id": "P1",
            },
            {
                "shop": ("enum",),
                "platform_order_id": ("text", 64),
                "kind": ("enum",),
                "platform_kind": ("text", 40),
                "reason": ("enum",),
                "requested_amount": ("decimal",),
                "buyer_message": ("text", 2000),
                "platform_ticket_id": ("text", 64),
            },
        ),
        "tickets/<pk>/actions/<action_name>/": (f"/api/v1/tickets/{ticket.pk}/actions/", act_base, act_spec),
        "approvals/<pk>/decide/": (
            f"/api/v1/approvals/{approval.pk}/decide/",
            {"approve": True, "note": "n"},
            {"approve": ("boolean",), "note": ("text", 2000)},
        ),
        "intercepts/<pk>/answer/": (
            f"/api/v1/intercepts/{intercept.pk}/answer/",
            {"answer": "confirmed", "note": "n"},
            {"answer": ("enum",), "note": ("text", 2000)},
        ),
        "staffing-forecast/": (
            reverse("api-staffing"),
            {"gmv": "100000", "refund_rate": "0.05", "average_order_value": "100", "daily_capacity": 100, "days": 30},
            {
                "gmv": ("decimal",),
                "refund_rate": ("decimal",),
                "average_order_value": ("decimal",),
                "daily_capacity": ("integer",),
                "days": ("integer",),
            },
        ),
        "platform-data/chats/": (reverse("api-platform-chats"), chats, chats_spec),
        "platform-data/reviews/": (reverse("api-platform-reviews"), reviews, reviews_spec),
        "platform-data/product-scores/": (reverse("api-platform-product-scores"), scores, scores_spec),
        "complaints/": (
            "/api/v1/complaints/",
            {
                "shop": shop.code,
                "platform_order_id": ticket.order.platform_order_id,
                "ticket": ticket.pk,
                "opened_at": "2026-11-12T10:00:00+08:00",
                "channel": "platform",
                "liability": "merchant",
                "note": "n",
                "platform_complaint_id": "C1",
            },
            {
                "shop": ("enum",),
                "platform_order_id": ("text", 64),
                "ticket": ("integer",),
                "opened_at": ("time",),
                "channel": ("enum",),
                "liability": ("enum",),
                "note": ("text", 2000),
                "platform_complaint_id": ("text", 64),
            },
        ),
    }


def api_post_routes() -> set[str]:
    """The API's routes that accept POST, as the URL resolver knows them, written "tickets/<pk>/actions/<name>/"."""
    from config.api import urlpatterns

    found = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
                continue
            actions = getattr(pattern.callback, "actions", None)
            view_class = getattr(pattern.callback, "view_class", None)
            if "(?P<format>" in route:
                continue  # the router's format-suffix twin of a route already listed
            if (actions is not None and "post" in actions) or (actions is None and hasattr(view_class, "post")):
                found.add(readable(route))

    walk(urlpatterns)
    return found


def readable(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)
    return route.replace("^", "").replace("$", "")


ROUTES = {
    "auth/token/",
    "orders/",
    "tickets/",
    "tickets/<pk>/actions/<action_name>/",
    "approvals/<pk>/decide/",
    "intercepts/<pk>/answer/",
    "staffing-forecast/",
    "platform-data/chats/",
    "platform-data/reviews/",
    "platform-data/product-scores/",
    "complaints/",
}
DOUYIN_ROUTE = "marketplaces/douyin/push/"


def test_every_post_route_of_the_api_is_in_the_storm():
    assert api_post_routes() == {*ROUTES, DOUYIN_ROUTE}


ACTION_NAMES = [action.name for action in ACTIONS]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_no_malformed_body_on_an_api_route_answers_5xx_or_writes(world, storm, route):
    url, base, spec = api_routes(world)[route]
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(world["user"])
    before = row_counts()

    def target(index):
        if route.startswith("tickets/<pk>"):
            return f"{url}{ACTION_NAMES[index % len(ACTION_NAMES)]}/"
        return url

    bodies = mutated_bodies(base, spec)
    for index, body in enumerate(bodies):
        storm.record(route, body, api.post(target(index), encode(body, index), content_type="application/json"))
    valid = json.dumps(base).encode()
    for index, (body, content_type) in enumerate(raw_bodies(valid)):
        # The raw bodies go to a move that needs a field (an empty body would be a valid "withdraw").
        raw_url = f"{url}return_shipped/" if route.startswith("tickets/<pk>") else target(index)
        storm.record(route, body[:200], api.post(raw_url, body, content_type=content_type))

    storm.check(BODIES_PER_DOOR)
    assert_nothing_written(before)


# --- the 抖店 push ---------------------------------------------------------------------------------------------------


def douyin_sign(body: bytes) -> str:
    return hashlib.md5(DOUYIN_KEY.encode() + body + DOUYIN_SECRET.encode()).hexdigest()  # noqa: S324


def test_no_malformed_douyin_push_answers_5xx_or_writes(world, storm):
    data = {
        "shop_id": 88001,
        "aftersale_id": 7300000000001,
        "p_id": "6920000000000001",
        "aftersale_type": 0,
        "reason": "质量问题",
        "refund_amount": 100,
        "apply_time": 1762826400,
        "buyer_message": "开线了",
    }
    spec = {
        "shop_id": ("id", 40),
        "aftersale_id": ("id", 64),
        "p_id": ("id", 64),
        "aftersale_type": ("integer",),
        "reason": ("enum",),
        "refund_amount": ("integer",),
        "apply_time": ("integer",),
        "buyer_message": ("text", 2000),
    }
    api = APIClient(raise_request_exception=False)
    before = row_counts()
    url = reverse("api-douyin-push")
    bodies = []
    for index, mutated in enumerate(mutated_bodies(data, spec)):
        inner = encode(mutated, index).decode("utf-8", "surrogatepass")
        bodies.append(encode([{"tag": "200", "msg_id": f"m{index}", "data": inner}], index))
    envelope_spec = {"tag": ("code",), "msg_id": ("id", 200), "data": ("free",)}
    for index, mutated in enumerate(
        mutated_bodies({"tag": "200", "msg_id": "m", "data": json.dumps(data)}, envelope_spec, 60)
    ):
        bodies.append(encode([mutated], index))
    bodies += [body for body, _type in raw_bodies(b"[]")]
    for body in bodies:
        response = api.post(url, body, content_type="application/json", HTTP_EVENT_SIGN=douyin_sign(body))
        storm.record("douyin", body[:200], response)

    storm.check(BODIES_PER_DOOR)
    assert_nothing_written(before)


# --- the tracking webhooks -------------------------------------------------------------------------------------------

K100_ITEM = {
    "time": "2026-11-22 08:00:00",
    "ftime": "2026-11-22 08:00:00",
    "context": "到达",
    "status": "在途",
    "statusCode": "0",
    "areaName": "杭州",
}
# Fields the reader ignores have no bad values: the top-level "status" (polling, abort, …), and an item's "time"
# when its "ftime" is given.
K100_SPEC = {
    "lastResult": {
        "nu": ("text", 40),
        "com": ("text", 30),
        "state": ("code",),
        "data": [
            {
                "ftime": ("time",),
                "context": ("free",),
                "status": ("free",),
                "statusCode": ("code",),
                "areaName": ("free",),
            }
        ],
    },
}
KDN_TRACE = {"AcceptTime": "2026-11-22 08:00:00", "AcceptStation": "到达", "Location": "杭州", "Action": "2"}
KDN_SPEC = {
    "EBusinessID": ("id", 64),
    "Data": [
        {
            "LogisticCode": ("text", 40),
            "ShipperCode": ("text", 30),
            "State": ("code",),
            "StateEx": ("code",),
            "Traces": [
                {"AcceptTime": ("time",), "AcceptStation": ("free",), "Location": ("free",), "Action": ("code",)}
            ],
        }
    ],
}
BULK_SPEC = {
    "events": [
        {
            "tracking_number": ("text", 40),
            "courier": ("text", 20),
            "time": ("time",),
            "status": ("enum",),
            "text": ("free",),
            "location": ("free",),
        }
    ]
}


def md5_sign(text: str) -> str:
    """The aggregators' MD5 (logistics.tracking_formats) of text that may hold a lone surrogate: as its raw bytes,
    which the server receives as U+FFFD, so such a push fails its signature (and the escaped twin passes it)."""
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()


@pytest.mark.parametrize("provider", ["kuaidi100", "kdniao", "bulk"])
def test_no_malformed_signed_tracking_push_answers_5xx_or_writes(world, storm, provider):
    client = Client(raise_request_exception=False)
    number = Shipment.objects.get(shop=world["shop"]).tracking_number
    url = reverse(f"logistics:{'tracking' if provider == 'bulk' else provider}_push", args=[world["shop"].code])
    form_type = "application/x-www-form-urlencoded"
    sends = []
    if provider == "kuaidi100":
        base = {"status": "polling", "lastResult": {"nu": number, "com": "shunfeng", "state": "0", "data": [K100_ITEM]}}
        for index, body in enumerate(mutated_bodies(base, K100_SPEC)):
            param = encode(body, index).decode("utf-8", "surrogatepass")
            sends.append((form_body({"param": param, "sign": md5_sign(param + SALT).upper()}), form_type))
    elif provider == "kdniao":
        base = {
            "EBusinessID": KDN_ACCOUNT,
            "Data": [
                {"LogisticCode": number, "ShipperCode": "SF", "State": "2", "StateEx": "201", "Traces": [KDN_TRACE]}
            ],
        }
        for index, body in enumerate(mutated_bodies(base, KDN_SPEC)):
            data = encode(body, index).decode("utf-8", "surrogatepass")
            sign = base64.b64encode(md5_sign(data + KDN_KEY).encode()).decode()
            fields = {"RequestData": data, "DataSign": sign, "RequestType": "101"}
            sends.append((form_body(fields), form_type))
    else:
        event = {
            "tracking_number": number,
            "courier": "SF",
            "time": "2026-11-22T08:00:00+08:00",
            "status": "in_transit",
            "text": "到达",
            "location": "杭州",
        }
        sends = [
            (encode(body, index), "application/json")
            for index, body in enumerate(mutated_bodies({"events": [event]}, BULK_SPEC))
        ]
    sends += raw_bodies(b"{}")
    before = row_counts()

    for body, content_type in sends:
        headers = {"HTTP_X_SIGNATURE": bulk_sign(body, BULK_KEY)} if provider == "bulk" else {}
        storm.record(provider, body[:200], client.post(url, body, content_type=content_type, **headers))

    storm.check(BODIES_PER_DOOR)
    assert_nothing_written(before)


# --- the admin's act form, for every ticket move ------------------------------------------------------------------


def act_form_bodies(name: str, count: int = BODIES_PER_DOOR) -> list[bytes]:
    """Form bodies for one move: each has at least one field no door may accept."""
    bad = []
    for key, limit in TEXT_LIMITS.items():
        values = ["a\x00b", "\x00", "a\x07b", "\x1b", "x" * (limit + 1), "字" * max(300, limit + 1), "y" * 10_000]
        bad += [(key, value) for value in values]
    rng = random.Random(f"{SEED}-{name}")  # noqa: S311 - a reproducible storm
    ordinary = {
        "amount": "5.00",
        "kind": "partial",
        "ticket_kind": "repair",
        "note": "n",
        "reason": "1",
        "courier_code": "SF",
        "tracking_number": "SF9",
        "case_number": "C1",
        "evidence": "e",
        "idempotency_key": "k" * 200,
    }
    bodies = [form_body({**ordinary, key: value}) for key, value in bad]
    while len(bodies) < count - 4:
        chosen = dict(rng.sample(bad, rng.randint(1, 3)))
        kept = {key: value for key, value in ordinary.items() if rng.random() < 0.7}
        bodies.append(form_body({**kept, **chosen}))
    # Raw: invalid UTF-8 beside a NUL, and a body over the size limit.
    bodies += [
        b"note=%ED%A0%80%00",
        b"note=\xed\xa0\x80&tracking_number=" + b"9" * 60,
        b"note=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        b"amount=1&note=%00&" + b"&".join(b"f%d=1" % number for number in range(6000)),
    ]
    return bodies


def test_no_malformed_act_form_answers_5xx_or_writes_for_any_ticket_move(world, storm):
    client = Client(raise_request_exception=False)
    client.force_login(world["user"])
    ticket = world["ticket"]
    before = row_counts()

    for name in ACTION_NAMES:
        url = reverse("admin:aftersales_aftersalesticket_act", args=[ticket.pk, name])
        for body in act_form_bodies(name):
            storm.record(name, body[:200], client.post(url, body, content_type="application/x-www-form-urlencoded"))
            # Each refusal's message is left unread in the cookie; carried over, a full cookie made every later
            # request re-encode it message by message to trim it (a third of this test's time). Each body starts clean.
            client.cookies.pop(CookieStorage.cookie_name, None)

    storm.check(BODIES_PER_DOOR * len(ACTION_NAMES))
    assert_nothing_written(before)
