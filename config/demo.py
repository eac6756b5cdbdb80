"""Deterministic demo data: two shops of one outdoor brand on Tmall and Douyin, couriers, a few hundred orders,
one user per role with refund authorities, and a realistic day of after-sales tickets in every state.

Orders are generated as the rows of an order export and go through the real importer, so loading twice updates
instead of duplicating, exactly as re-importing a file does. Tickets are opened and moved on through the ticket
services, as the marketplace's push and the agents would.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from aftersales import roles
from aftersales.models import AfterSalesTicket, Order, Refund, RefundAuthority, ReturnReason, TicketEvent, TicketState
from aftersales.order_export import spreadsheet_time
from aftersales.order_import import plan_order_import
from aftersales.selectors import system_user
from aftersales.services import (
    order_import_apply,
    refund_execute,
    shop_assign_user,
    shop_upsert,
    ticket_agree_return,
    ticket_approve_refund,
    ticket_open,
    ticket_reject,
    ticket_return_shipped,
)
from logistics.models import LostParcelPolicy, Shipment, TrackingAccount, TrackingStatus
from logistics.services import (
    Scan,
    claims_register_for_courier_liability,
    courier_agreement_upsert,
    courier_upsert,
    intercepts_open_for_waiting_tickets,
    lost_parcels_remedy_pending,
    shipments_declare_lost,
    shipments_sync_from_orders,
    tracking_ingest,
)
from metrics.models import DailyMetric, Scorecard, ShopScorecard
from metrics.rollups import rollups_dirty
from warehouse.services import early_exchange_rule_set

# Orders of the last few days only: their dashboard days are few to roll up, and the unshipped ones are the buyers'.
CONNECTED_ONLY = {"orders": 30, "paid_within_days": 3, "demo_tickets": False}
SHOPS = [
    {"code": "shanye-tmall", "name": "山野户外天猫旗舰店", "platform_code": "tmall", "order_prefix": "4"},
    {"code": "shanye-douyin", "name": "山野户外抖音官方店", "platform_code": "douyin", "order_prefix": "69"},
    # Shops whose after-sales arrive only from their platform's simulator while `make run` plays buyers
    # (marketplace_demo): orders to ask about, no tickets made up by the demo.
    {
        "code": "shanye-pdd",
        "name": "山野户外拼多多店",
        "platform_code": "pinduoduo",
        "order_prefix": "2612",
        **CONNECTED_ONLY,
    },
    {"code": "shanye-jd", "name": "山野户外京东旗舰店", "platform_code": "jd", "order_prefix": "31", **CONNECTED_ONLY},
    {
        "code": "shanye-wechat",
        "name": "山野户外微信小店",
        "platform_code": "wechat",
        "order_prefix": "37",
        **CONNECTED_ONLY,
    },
]
COURIERS = [
    ("SF", "顺丰速运", "SF"),
    ("ZTO", "中通快递", "7531"),
    ("YTO", "圆通速递", "YT"),
    ("YUNDA", "韵达快递", "4318"),
    ("JD", "京东物流", "JDV"),
    ("EMS", "中国邮政 EMS", "11"),
]
PRODUCTS = [
    ("SY-JK-001", "山野三合一冲锋衣 男款", Decimal("599.00")),
    ("SY-JK-002", "山野三合一冲锋衣 女款", Decimal("579.00")),
    ("SY-TS-010", "速干T恤 短袖", Decimal("129.00")),
    ("SY-SH-020", "防水登山鞋 中帮", Decimal("459.00")),
    ("SY-BT-030", "不锈钢保温杯 500ml", Decimal("89.00")),
    ("SY-FL-040", "抓绒外套", Decimal("299.00")),
    ("SY-SK-050", "徒步袜 3双装", Decimal("49.00")),
    ("SY-HL-060", "充电头灯", Decimal("79.00")),
    ("SY-BP-070", "双肩登山包 30L", Decimal("269.00")),
]
# (province as the platforms export it, city, districts, remote 偏远)
REGIONS = [
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区"], False),
    ("广东省", "广州市", ["天河区", "海珠区", "番禺区"], False),
    ("浙江省", "杭州市", ["西湖区", "余杭区", "滨江区"], False),
    ("江苏省", "南京市", ["鼓楼区", "江宁区", "玄武区"], False),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "闵行区"], False),
    ("北京市", "北京市", ["朝阳区", "海淀区", "丰台区"], False),
    ("四川省", "成都市", ["武侯区", "高新区", "锦江区"], False),
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"], False),
    ("山东省", "济南市", ["历下区", "市中区"], False),
    ("河南省", "郑州市", ["金水区", "二七区"], False),
    ("福建省", "厦门市", ["思明区", "湖里区"], False),
    ("湖南省", "长沙市", ["岳麓区", "雨花区"], False),
    ("陕西省", "西安市", ["雁塔区", "未央区"], False),
    ("云南省", "昆明市", ["五华区", "盘龙区"], False),
    ("新疆维吾尔自治区", "乌鲁木齐市", ["天山区", "沙依巴克区"], True),
    ("西藏自治区", "拉萨市", ["城关区"], True),
    ("青海省", "西宁市", ["城中区", "城西区"], True),
    ("内蒙古自治区", "呼和浩特市", ["新城区", "赛罕区"], True),
    ("甘肃省", "兰州市", ["城关区", "七里河区"], True),
    ("宁夏回族自治区", "银川市", ["兴庆区", "金凤区"], True),
]
STREETS = [
    "人民路",
    "解放大道",
    "建设路",
    "中山路",
    "和平街",
    "文化路",
    "科技园路",
    "滨江大道",
    "长江路",
    "学府路",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建文辉玲欣怡子涵浩然雨轩梓萱思远嘉怡宇航晨曦"
NICK_WORDS = ["小", "爱", "徒步", "山", "风", "野", "行者", "云", "暖", "阿"]
ORDERS_PER_SHOP = 150


def order_rows(shop_spec: dict, *, today: datetime, seed: int = 2026) -> list[dict]:
    """Export-shaped rows (one per line) for one shop; deterministic for a seed and a day."""
    rng = random.Random(f"{seed}-{shop_spec['code']}")  # noqa: S311 - demo data, not security
    rows = []
    for number in range(shop_spec.get("orders", ORDERS_PER_SHOP)):
        order_id = shop_spec["order_prefix"] + "".join(rng.choice("0123456789") for _ in range(18))
        order_id = order_id[:19]
        province, city, districts, _remote = rng.choice(REGIONS)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        paid_at = today - timedelta(days=rng.uniform(0.2, shop_spec.get("paid_within_days", 30)), minutes=number)
        stage = rng.random()
        packed_at = shipped_at = delivered_at = None
        courier_code = tracking_number = ""
        if stage > 0.10:
            packed_at = paid_at + timedelta(hours=rng.uniform(1, 20))
        if stage > 0.18:
            shipped_at = packed_at + timedelta(hours=rng.uniform(0.5, 10))
            courier_code, _courier_name, prefix = rng.choice(COURIERS)
            tracking_number = prefix + "".join(rng.choice("0123456789") for _ in range(12))
        if stage > 0.48 and shipped_at and shipped_at + timedelta(days=2) < today:
            delivered_at = shipped_at + timedelta(days=rng.uniform(1.5, 4 if not _remote else 7))
            delivered_at = min(delivered_at, today - timedelta(hours=1))
        lines = rng.sample(PRODUCTS, k=rng.choice((1, 1, 1, 2, 2, 3)))
        line_amounts = []
        for sku, item_name, price in lines:
            quantity = rng.choice((1, 1, 1, 2))
            discount = Decimal(rng.choice(("1.00", "0.95", "0.90", "0.85")))
            line_amounts.append((sku, item_name, quantity, (price * quantity * discount).quantize(Decimal("0.01"))))
        order_columns = {
            "platform_order_id": order_id,
            "buyer_nick": rng.choice(NICK_WORDS) + rng.choice(NICK_WORDS) + str(rng.randint(10, 9999)),
            "receiver_name": name,
            "receiver_phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}****{rng.randint(1000, 9999)}",
            "province": province,
            "city": city,
            "district": rng.choice(districts),
            "address": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2802)}室",
            "paid_amount": sum((amount for *_rest, amount in line_amounts), Decimal("0.00")),
            "paid_at": spreadsheet_time(paid_at),
            "packed_at": spreadsheet_time(packed_at),
            "shipped_at": spreadsheet_time(shipped_at),
            "courier_code": courier_code,
            "tracking_number": tracking_number,
            "delivered_at": spreadsheet_time(delivered_at),
        }
        for sku, item_name, quantity, amount in line_amounts:
            rows.append(
                {
                    **order_columns,
                    "sku": sku,
                    "item_name": item_name,
                    "quantity": quantity,
                    "line_paid_amount": amount,
                }
            )
    for row_number, row in enumerate(rows, start=2):
        row["_row"] = row_number
    return rows


def demo_day() -> datetime:
    """Today at 18:00 Beijing time: the same timeline for every load on one day, so a reload changes nothing."""
    local_now = timezone.localtime()
    return local_now.replace(hour=18, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------------------------------------------
# Users, refund authorities and tickets. Everything below writes through the services, as the desk itself does.
# ---------------------------------------------------------------------------------------------------------------------

DEMO_SEED = 2026
DEMO_PASSWORD = "aftersales-demo"  # noqa: S105 - printed to the developer on purpose; refused in production
# username, role, shops (by code; None means every demo shop), what to try
DEMO_USERS = [
    ("agent", roles.AGENT, ["shanye-tmall"], "the Tmall shop only: the Douyin shop's orders stay invisible"),
    ("supervisor", roles.SUPERVISOR, None, "imports orders; decides approvals"),
    ("warehouse", roles.WAREHOUSE, None, "the receiving station"),
    ("manager", roles.MANAGER, None, "dashboards and shop settings"),
]
# 逐级授权 per shop: (role group or username, shop code or None for every demo shop, CNY per ticket)
AUTHORITIES = [
    ("group", roles.AGENT, None, Decimal("100.00")),
    ("group", roles.SUPERVISOR, None, Decimal("2000.00")),
    ("user", "agent", "shanye-tmall", Decimal("200.00")),
]
# Who works a shop's tickets in the demo: the agent where there is one, else the supervisor.
DEMO_DESK_USER = {"shanye-tmall": "agent", "shanye-douyin": "supervisor"}
PLATFORM_REFUND_ID_PREFIX = {"shanye-tmall": "2", "shanye-douyin": "7"}


class Scenario:
    """What the demo does with a ticket after the platform pushed it, and so the state it is left in."""

    AUTO_REFUNDED = "auto_refunded"  # path 1, refunded by the shop's automatic rule, then executed
    OVER_AUTO_CAP = "over_auto_cap"  # path 1 above the automatic cap: waits for an agent
    CUT_OFF = "cut_off"  # path 1 on a packed order: the warehouse is asked to hold it (intercepting)
    IN_TRANSIT = "in_transit"  # path 2: waits for an agent (an intercept is the usual answer)
    COMPLAINT = "complaint"  # received, the buyer threatens a complaint or a bad review: waits for an agent
    AWAITING_APPROVAL = "awaiting_approval"  # the agent asked for more than their authority
    AWAITING_RETURN = "awaiting_return"  # the agent agreed to a return
    RETURN_IN_TRANSIT = "return_in_transit"  # ... and the buyer sent the parcel back
    REJECTED = "rejected"
    COMPENSATED = "compensated"  # a small compensation within the agent's authority, executed


# (scenario, goods pool, tickets per shop; a dict for a shop-specific count)
SCENARIOS = [
    (Scenario.AUTO_REFUNDED, "unpacked_small", 5),
    (Scenario.OVER_AUTO_CAP, "unpacked_large", 2),
    (Scenario.CUT_OFF, "packed", 3),
    (Scenario.IN_TRANSIT, "in_transit", 4),
    (Scenario.COMPLAINT, "delivered", 3),
    # Only the Tmall shop has an agent, whose ¥200 is below these orders; on Douyin the supervisor works alone.
    (Scenario.AWAITING_APPROVAL, "delivered_large", {"shanye-tmall": 3}),
    (Scenario.AWAITING_RETURN, "delivered", 2),
    (Scenario.RETURN_IN_TRANSIT, "delivered", 2),
    (Scenario.REJECTED, "delivered", 2),
    (Scenario.COMPENSATED, "delivered", 2),
]
# How long before the load the buyer asked. The moves after opening happen at the load, so a ticket someone has
# answered was opened shortly before (its response time stays plausible); one still waiting may be days old.
WAITING_HOURS = (0.3, 56)
HOURS_AGO = {
    Scenario.AUTO_REFUNDED: (0.02, 0.4),
    Scenario.CUT_OFF: (0.02, 0.4),
    Scenario.REJECTED: (0.5, 8),
    Scenario.COMPENSATED: (0.5, 8),
}
APPROVAL_ABOVE = Decimal("200.00")
AUTO_REFUND_CAP = Decimal("300.00")  # the shop default (Shop.auto_refund_max_amount)

# kind, reason code, buyer message
REQUESTS = {
    Scenario.AUTO_REFUNDED: [
        ("refund_only", "changed_mind", "拍错了，还没发货的话麻烦直接退款"),
        # Not 未按约定时间发货: that reason may involve compensation and goes to an agent (refund_gate.automatic_rule).
        ("refund_only", "changed_mind", "说好48小时发货，到现在还没发，不等了"),
        ("refund_only", "address_change", "地址填错了，退了重新拍"),
        ("refund_only", "promotion_changed", "今天又降价了，退掉重新下单"),
    ],
    Scenario.OVER_AUTO_CAP: [
        ("refund_only", "late_shipping", "付款好几天了还没发货，申请退款"),
        ("refund_only", "changed_mind", "家里已经买了，不需要了，还没发货请退款"),
    ],
    Scenario.CUT_OFF: [
        ("refund_only", "changed_mind", "不想要了，麻烦别发了"),
        ("refund_only", "address_change", "地址写错了，先退款我重新拍"),
        ("refund_only", "changed_mind", "发货太慢了，已经在别家买了"),
    ],
    Scenario.IN_TRANSIT: [
        ("refund_only", "delivery_delay", "物流三天没动了，申请退款"),
        ("refund_only", "changed_mind", "不想要了，快递到了我拒收"),
        ("refund_only", "delivery_delay", "快递一直显示在中转站，再不到就投诉"),
        ("refund_only", "lost_parcel", "物流显示已经停了很久，是不是丢件了？"),
    ],
    Scenario.COMPLAINT: [
        ("refund_only", "quality_defect", "用了一次就开胶了，质量太差了，不处理就给差评"),
        ("return_refund", "not_as_described", "和详情页写的完全不一样，说是防水结果一淋就湿，要去12315投诉"),
        ("refund_only", "damaged_in_transit", "收到的时候外壳凹了一块，客服再不回复我就曝光"),
    ],
    Scenario.AWAITING_APPROVAL: [
        ("refund_only", "quality_defect", "才用了两天就开裂了，要求全额退款"),
        ("refund_only", "not_as_described", "面料和描述不符，要求退款，东西可以不寄回"),
        ("refund_only", "wrong_item", "发错款了，和我拍的不一样，直接退款吧"),
    ],
    Scenario.AWAITING_RETURN: [
        ("return_refund", "wrong_colour_style", "颜色和图片差别很大，申请退货退款"),
        ("return_refund", "changed_mind", "不太合适，七天无理由退货"),
    ],
    Scenario.RETURN_IN_TRANSIT: [
        ("return_refund", "not_as_described", "实物比图片小很多，已经寄回了"),
        ("return_refund", "changed_mind", "买大了，已寄回，麻烦尽快退款"),
    ],
    Scenario.REJECTED: [
        ("refund_only", "changed_mind", "用了几天不太喜欢，申请退款"),
        ("refund_only", "not_as_effective", "效果很一般，想退款不退货"),
    ],
    Scenario.COMPENSATED: [
        ("compensation", "missing_accessory", "少了一个配件，补偿一下吧"),
        ("compensation", "damaged_packaging", "外包装盒压坏了，送人没法送，要求补偿"),
    ],
}
OPENING_ACTIONS = [
    TicketEvent.Action.OPENED,
    TicketEvent.Action.RETURN_PROPOSED,
    TicketEvent.Action.TEAM_LEAD_ALERTED,
]
REJECT_NOTE = "商品已使用且吊牌已拆，不符合七天无理由退货条件，已与买家沟通。"
APPROVAL_NOTE = "买家反映质量问题并提供照片，要求全额退款，超出本人权限，请主管审批。"
RETURN_NOTE = "同意退货退款，请买家寄回并填写退货单号，吊牌请勿拆除。"
COMPENSATION_NOTE = "向买家致歉并补偿，买家已接受。"


@dataclass(frozen=True)
class DemoTicket:
    """One buyer request as the marketplace would push it, and what the demo does with it next."""

    platform_ticket_id: str
    platform_order_id: str
    scenario: str
    kind: str
    reason_code: str
    buyer_message: str
    requested_amount: Decimal | None  # None: what is left of the order
    hours_ago: float  # before the load; never before the goods got where they are
    return_courier_code: str = ""
    return_tracking_number: str = ""


def ticket_plan(shop_spec: dict, *, today: datetime, seed: int = DEMO_SEED) -> list[DemoTicket]:
    """The shop's demo tickets, from its demo orders alone (no database): the same list for a seed on any day."""
    rng = random.Random(f"{seed}-tickets-{shop_spec['code']}")  # noqa: S311 - demo data, not security
    orders: dict[str, dict] = {}
    for row in order_rows(shop_spec, today=today, seed=seed):
        order = orders.setdefault(row["platform_order_id"], {**row, "line_amounts": []})
        order["line_amounts"].append(row["line_paid_amount"])
    pools = {name: [] for name in ("unpacked_small", "unpacked_large", "packed", "in_transit", "delivered")}
    for order_id in sorted(orders):
        order = orders[order_id]
        if order["delivered_at"]:
            pools["delivered"].append(order_id)
        elif order["shipped_at"]:
            pools["in_transit"].append(order_id)
        elif order["packed_at"]:
            pools["packed"].append(order_id)
        elif min(order["line_amounts"]) <= AUTO_REFUND_CAP:
            pools["unpacked_small"].append(order_id)
        else:
            pools["unpacked_large"].append(order_id)
    # Above the automatic cap, a path-1 request may also be an order whose cheapest line is small.
    pools["unpacked_large"] += [o for o in pools["unpacked_small"] if orders[o]["paid_amount"] > AUTO_REFUND_CAP]
    pools["delivered_large"] = [o for o in pools["delivered"] if orders[o]["paid_amount"] > APPROVAL_ABOVE]
    used: set[str] = set()
    refund_ids: set[str] = set()
    plan = []
    for scenario, pool_name, per_shop in SCENARIOS:
        count = per_shop.get(shop_spec["code"], 0) if isinstance(per_shop, dict) else per_shop
        candidates = [order_id for order_id in pools[pool_name] if order_id not in used]
        for number, order_id in enumerate(rng.sample(candidates, k=min(count, len(candidates)))):
            used.add(order_id)
            order = orders[order_id]
            kind, reason_code, message = REQUESTS[scenario][number % len(REQUESTS[scenario])]
            amount = None
            if scenario == Scenario.AUTO_REFUNDED and order["paid_amount"] > AUTO_REFUND_CAP:
                # A buyer who bought one item too many: the cheapest line back before it ships.
                amount, reason_code = min(order["line_amounts"]), "changed_mind"
                message = "多拍了一件，这件不要了，麻烦退掉"
            elif scenario == Scenario.COMPENSATED:
                amount = Decimal(rng.choice(("10.00", "15.00", "20.00", "30.00")))
            hours_ago = round(rng.uniform(*HOURS_AGO.get(scenario, WAITING_HOURS)), 2)
            courier_code, _courier_name, prefix = rng.choice(COURIERS)
            tracking = prefix + "".join(rng.choice("0123456789") for _ in range(12))
            refund_id = ""
            while not refund_id or refund_id in refund_ids:
                refund_id = PLATFORM_REFUND_ID_PREFIX[shop_spec["code"]] + "".join(
                    rng.choice("0123456789") for _ in range(17)
                )
            refund_ids.add(refund_id)
            plan.append(
                DemoTicket(
                    platform_ticket_id=refund_id,
                    platform_order_id=order_id,
                    scenario=scenario,
                    kind=kind,
                    reason_code=reason_code,
                    buyer_message=message,
                    requested_amount=amount,
                    hours_ago=hours_ago,
                    return_courier_code=courier_code if scenario == Scenario.RETURN_IN_TRANSIT else "",
                    return_tracking_number=tracking if scenario == Scenario.RETURN_IN_TRANSIT else "",
                )
            )
    return plan


@dataclass
class DemoLoad:
    imports: dict = field(default_factory=dict)  # shop → ImportSummary
    tickets: dict = field(default_factory=dict)  # shop → {state: count} of its demo tickets
    logistics: dict = field(default_factory=dict)  # what the logistics checks did: intercepts, lost parcels, claims
    rollup_days: int = 0  # the shops' days whose metrics were rolled up for the dashboard


@transaction.atomic
def load(*, seed: int = DEMO_SEED, today: datetime | None = None) -> DemoLoad:
    """Couriers, shops, orders, users, authorities and tickets; run again, it duplicates nothing.

    Orders go through the importer (an upsert). Tickets carry a platform refund id, so opening one again returns
    the existing ticket, and a ticket is moved on only while nobody has touched it since it was opened.
    """
    today = today or demo_day()
    result = DemoLoad()
    couriers = {code: courier_upsert(code=code, name=name, **COURIER_TERMS[code]) for code, name, _prefix in COURIERS}
    shops = {
        spec["code"]: shop_upsert(code=spec["code"], name=spec["name"], platform_code=spec["platform_code"])
        for spec in SHOPS
    }
    _load_agreements(shops, couriers)
    for spec in SHOPS:
        shop = shops[spec["code"]]
        plan = plan_order_import(shop=shop, rows=order_rows(spec, today=today, seed=seed))
        result.imports[shop] = order_import_apply(plan=plan, by=system_user(), reason="demo data")
    users = _load_users(shops)
    _load_authorities(shops, users)
    # 提前换出 on Tmall for single items up to ¥300: an agent may send the replacement once the return is scanned.
    early_exchange_rule_set(shop=shops["shanye-tmall"], is_enabled=True, max_price=Decimal("300.00"))
    demo_tickets = {}
    for spec in SHOPS:
        if not spec.get("demo_tickets", True):
            continue
        shop = shops[spec["code"]]
        plan = ticket_plan(spec, today=today, seed=seed)
        demo_tickets[shop] = _load_tickets(shop, plan, by=users[DEMO_DESK_USER[spec["code"]]])
    # The couriers' side moves some tickets on (intercepts requested, lost parcels refunded); count states after it.
    result.logistics = _load_logistics(shops, today=today)
    result.rollup_days = _load_metrics(shops, today=today)
    for shop, tickets in demo_tickets.items():
        states = Counter(
            AfterSalesTicket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("state", flat=True)
        )
        result.tickets[shop] = dict(sorted(states.items()))
    return result


def _load_users(shops) -> dict:
    user_model = get_user_model()
    admin, _created = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = True
    admin.set_password(DEMO_PASSWORD)
    admin.save()
    users = {"admin": admin}
    for username, role, shop_codes, _purpose in DEMO_USERS:
        user, _created = user_model.objects.get_or_create(username=username)
        user.is_staff = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=role))
        for code in shop_codes or shops:
            shop_assign_user(shop=shops[code], user=user)
        users[username] = user
    return users


def _load_authorities(shops, users) -> None:
    for holder_type, name, shop_code, amount in AUTHORITIES:
        holder = Group.objects.get(name=name) if holder_type == "group" else users[name]
        for code in [shop_code] if shop_code else shops:
            RefundAuthority.objects.update_or_create(
                shop=shops[code], **{holder_type: holder}, defaults={"max_amount": amount}
            )


def _load_tickets(shop, plan: list[DemoTicket], *, by) -> list[AfterSalesTicket]:
    system = system_user()
    now = timezone.now()
    orders = {
        order.platform_order_id: order
        for order in Order.objects.filter(shop=shop, platform_order_id__in=[demo.platform_order_id for demo in plan])
    }
    reasons = ReturnReason.objects.in_bulk([demo.reason_code for demo in plan], field_name="code")
    tickets = []
    for demo in plan:
        order = orders[demo.platform_order_id]
        goods_since = order.delivered_at or order.shipped_at or order.packed_at or order.paid_at
        opened_at = min(now, max(goods_since + timedelta(minutes=10), now - timedelta(hours=demo.hours_ago)))
        # ticket_open returns a ticket the platform already pushed, but refuses before looking if its reason has
        # been deactivated since (a supervisor trying the reasons admin); so look first.
        existing = AfterSalesTicket.objects.filter(shop=shop, platform_ticket_id=demo.platform_ticket_id).first()
        ticket = existing or ticket_open(
            order=order,
            kind=demo.kind,
            reason=reasons[demo.reason_code],
            by=system,  # the marketplace's push
            requested_amount=demo.requested_amount,
            buyer_message=demo.buyer_message,
            platform_ticket_id=demo.platform_ticket_id,
            opened_at=opened_at,
        )
        if (
            ticket.state == TicketState.REQUESTED
            # What opening writes by itself (the opening, a return proposal, a team-lead alert) is not a move.
            and not ticket.events.exclude(action__in=OPENING_ACTIONS).exists()
        ):
            _move_on(ticket, demo, by=by, system=system)
        tickets.append(ticket)
    # The demo's gateway runs at once rather than on a worker: refunds the rules or the agent started are paid.
    _pay_refunds(Refund.objects.filter(ticket__in=tickets, status=Refund.Status.PENDING))
    return tickets


def _pay_refunds(pending) -> None:
    """Send the pending refunds; on the batch-file gateway, make each shop's batch file and confirm it as the
    marketplace's batch tool would (the demo has no result file: a supervisor's confirmation with a note)."""
    from aftersales.models import Shop
    from aftersales.services import refund_batch_confirm, refund_batch_create

    shop_ids = set(pending.values_list("shop_id", flat=True))
    for refund_id in pending.values_list("pk", flat=True):
        refund_execute(refund_id=refund_id)
    system = system_user()
    for shop in Shop.objects.filter(pk__in=shop_ids).order_by("pk"):
        batch = refund_batch_create(shop=shop, by=system)
        if batch is not None:
            refund_batch_confirm(batch=batch, by=system, note="Demo: the batch tool paid every refund of the file.")


def _move_on(ticket: AfterSalesTicket, demo: DemoTicket, *, by, system) -> None:
    """The agent's (or the buyer's) next step for a ticket nobody has touched since the platform pushed it."""
    if demo.scenario == Scenario.AWAITING_APPROVAL:
        ticket_approve_refund(ticket=ticket, by=by, note=APPROVAL_NOTE)
    elif demo.scenario in (Scenario.AWAITING_RETURN, Scenario.RETURN_IN_TRANSIT):
        ticket_agree_return(ticket=ticket, by=by, note=RETURN_NOTE)
        if demo.scenario == Scenario.RETURN_IN_TRANSIT:
            ticket_return_shipped(
                ticket=ticket,
                by=system,  # the buyer's tracking number arrives with the platform's push
                courier_code=demo.return_courier_code,
                tracking_number=demo.return_tracking_number,
            )
    elif demo.scenario == Scenario.REJECTED:
        ticket_reject(ticket=ticket, by=by, note=REJECT_NOTE)
    elif demo.scenario == Scenario.COMPENSATED:
        ticket_approve_refund(ticket=ticket, by=by, note=COMPENSATION_NOTE)


# ---------------------------------------------------------------------------------------------------------------------
# Logistics: the couriers' agreements, the shops' tracking accounts and no-scan rules, scans, intercepts, lost parcels.
# ---------------------------------------------------------------------------------------------------------------------

# What every shop shares about a courier: the aggregators' codes, and the default answer time and claim terms for a
# shop without its own agreement.
COURIER_TERMS = {
    "SF": {"kuaidi100_code": "shunfeng", "kdniao_code": "SF"},
    "ZTO": {"kuaidi100_code": "zhongtong", "kdniao_code": "ZTO"},
    "YTO": {"kuaidi100_code": "yuantong", "kdniao_code": "YTO"},
    "YUNDA": {"kuaidi100_code": "yunda", "kdniao_code": "YD"},
    "JD": {"kuaidi100_code": "jd", "kdniao_code": "JD"},
    "EMS": {"kuaidi100_code": "ems", "kdniao_code": "EMS", "claim_postage_multiple": Decimal("3.00")},
}
# Each shop's agreement (快递协议) with each courier: its contact, its own group robot, its times and terms. The robots'
# addresses are made up (one per shop, `<shop>` filled in): `make run` records their messages instead of sending them.
_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo-"
COURIER_AGREEMENTS = {
    "SF": {
        "intercept_contact": "顺丰 刘经理",
        "robot_kind": "wecom",
        "robot_webhook_url": _ROBOT + "sf-<shop>",
        "claim_terms": "保价件按声明价值, 未保价按实际损失",
    },
    "ZTO": {
        "intercept_contact": "中通 陈主管",
        "robot_kind": "dingtalk",
        "robot_webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=demo-zto-<shop>",
        "claim_max_amount": Decimal("1000.00"),
        # Intercepts through Kuaidi100 (make run's local simulator); the robot stays the fallback.
        "intercept_channel": "kuaidi100",
        "kuaidi100_key": "demo-kuaidi100",
        "kuaidi100_secret": "demo-kuaidi100-secret",
        "kuaidi100_partner_id": "demo-zto-account",
    },
    "YTO": {
        "intercept_contact": "圆通 周专员",
        "robot_kind": "feishu",
        "robot_webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/demo-yto-<shop>",
    },
    "YUNDA": {
        "intercept_contact": "韵达 吴组长",
        "robot_kind": "wecom",
        "robot_webhook_url": _ROBOT + "yunda-<shop>",
    },
    "JD": {
        "intercept_contact": "京东 郑经理",
        "robot_kind": "wecom",
        "robot_webhook_url": _ROBOT + "jd-<shop>",
        "intercept_answer_minutes": 60,
    },
    # No group: the intercept contact is phoned (the outbox says so).
    "EMS": {"intercept_contact": "邮政 客户经理", "claim_postage_multiple": Decimal("3.00")},
}


def _load_agreements(shops, couriers) -> None:
    for shop in shops.values():
        for code, terms in COURIER_AGREEMENTS.items():
            terms = {**terms}
            if "robot_webhook_url" in terms:
                terms["robot_webhook_url"] = terms["robot_webhook_url"].replace("<shop>", shop.code)
            secret = terms.pop("kuaidi100_secret", "")
            agreement = courier_agreement_upsert(shop=shop, courier=couriers[code], **terms)
            if secret and not agreement.kuaidi100_secret_encrypted:
                agreement.set_kuaidi100_secret(secret)
                agreement.save(update_fields=["kuaidi100_secret_encrypted"])


# Douyin's remote list adds 云南 and 海南 to the seeds' six (DESIGN §5).
DOUYIN_REMOTE = ["新疆", "西藏", "青海", "内蒙古", "甘肃", "宁夏", "云南", "海南"]
# One parcel in this many gets no scan after pickup, so the no-scan rule has lost parcels to show.
QUIET_EVERY = 12


def _load_logistics(shops, *, today: datetime) -> dict:
    for shop in shops.values():
        remote = DOUYIN_REMOTE if shop.platform.code == "douyin" else None
        LostParcelPolicy.objects.get_or_create(shop=shop, defaults={"remote_provinces": remote} if remote else {})
        for provider in ("kuaidi100", "kdniao", "bulk"):
            TrackingAccount.objects.get_or_create(
                shop=shop, provider=provider, defaults={"signing_key": f"demo-{provider}-{shop.code}"}
            )
    shipments_sync_from_orders()
    _scan_parcels_in_transit(shops, today=today)
    lost = shipments_declare_lost(now=today)
    lost_parcels_remedy_pending()
    _pay_refunds(Refund.objects.filter(status=Refund.Status.PENDING))
    return {
        "intercepts": intercepts_open_for_waiting_tickets(),
        "lost": lost.declared,
        "claims": claims_register_for_courier_liability() + lost.claims,
    }


def _scan_parcels_in_transit(shops, *, today: datetime) -> None:
    """A courier scan a few hours before `today` for each parcel on its way, except every QUIET_EVERY-th."""
    for shop in shops.values():
        parcels = Shipment.objects.filter(shop=shop, status=Shipment.Status.IN_TRANSIT).select_related("courier")
        scans = []
        for number, shipment in enumerate(parcels.order_by("tracking_number")):
            if number % QUIET_EVERY == 0:
                continue
            hours_ago = 2 + sum(map(ord, shipment.tracking_number)) % 30
            scanned_at = min(today, max(shipment.shipped_at + timedelta(hours=1), today - timedelta(hours=hours_ago)))
            scans.append(
                Scan(
                    shipment.courier.code,
                    shipment.tracking_number,
                    scanned_at,
                    TrackingStatus.IN_TRANSIT,
                    "快件已到达转运中心",
                    "杭州",
                )
            )
        tracking_ingest(shop=shop, scans=scans, source="bulk")


# Each demo shop is graded by its platform's current scorecard; the dashboard's two 30-day periods get their rollups.
DEMO_SCORECARDS = {"shanye-tmall": ("tmall", "20009524"), "shanye-douyin": ("douyin", "103956")}
DEMO_ROLLUP_DAYS = 61


def _load_metrics(shops, *, today: datetime) -> int:
    """The rollups of the dashboard's days; returns the number of shop-days computed. A reload (every `make run`)
    computes what the nightly job would: the days its changes marked and those not rolled up yet, not all 61 days
    again (about 15 s of CPU: a reload took 19 s, now 3.5 s)."""
    for code, (platform, version) in DEMO_SCORECARDS.items():
        scorecard = Scorecard.objects.filter(platform__code=platform, version=version).first()
        if scorecard:
            ShopScorecard.objects.get_or_create(shop=shops[code], defaults={"scorecard": scorecard})
    yesterday = timezone.localtime(today).date() - timedelta(days=1)
    since = yesterday - timedelta(days=DEMO_ROLLUP_DAYS - 1)
    # Every day of the dashboard's two periods for the shops with a history; the connected-only shops' few days of
    # orders are marked dirty by their import and rolled up with the rest.
    shop_ids = [shops[spec["code"]].pk for spec in SHOPS if spec.get("demo_tickets", True)]
    wanted = {(shop_id, since + timedelta(days=n)) for shop_id in shop_ids for n in range(DEMO_ROLLUP_DAYS)}
    rolled_up = set(
        DailyMetric.objects.filter(shop_id__in=shop_ids, day__range=(since, yesterday))
        .values_list("shop_id", "day")
        .distinct()
    )
    return rollups_dirty(also=wanted - rolled_up)
