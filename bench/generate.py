"""A year of one big shop (DESIGN §7's reference load), written straight into PostgreSQL with COPY.

    generate_year(shop_code="bench-year", orders=1_000_000, tickets=100_000, seed=1)

What it writes, for one shop on Tmall, over the 365 days before `end`:

- orders with their lines, spread over the year with sale days (双11 alone about 8 %, 618 and 双12 smaller peaks),
  evening peaks, a repeat-buyer tail, 31 provinces (新疆 西藏 青海 内蒙古 甘肃 宁夏 among them, slower to deliver),
  seven couriers, outbound shipments and their tracking scans, product reviews and chat sessions;
- `tickets` after-sales tickets across the four paths, each walked through the steps the services take, with the
  events (who, when, from, to) and the time between steps an after-sales team really takes: automatic refunds in
  seconds, agents in minutes to hours, buyers' returns in days; refunds (a few failed and retried), approvals,
  cut-offs, intercepts, lost parcels with their claims, returns with their parcels, inspections and evidence.
  A ticket whose next step would fall after `end` stops there, so the last days hold open work in every state.

The rows respect every constraint the services keep: the database's own trigger keeps `Order.refunded_amount`
the sum of the non-failed refunds and its check refuses more than was paid; one ticket per order; unique waybills,
idempotency keys, parcels and claims. Everything comes from one `random.Random(seed)` and `end`, so the same seed and
end write the same rows (the ids are taken from the sequences and differ between runs).

Rows are written with COPY (psycopg 3 `cursor.copy`), table by table in dependency order, one transaction per
chunk of days. This is data for benchmarks, not a path for real data: real orders and tickets go through the
services.
"""

import hashlib
import math
import random
import time
from bisect import bisect
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from aftersales.models import RefundAuthority, ReturnReason, Shop, TicketEvent
from aftersales.selectors import system_user
from aftersales.services import shop_assign_user, shop_upsert
from logistics.models import Courier, LogisticsEvent, LostParcelPolicy, TrackingAccount, TrackingProvider
from logistics.services.shipments import courier_upsert
from metrics.models import Scorecard, ShopScorecard
from warehouse.models import EarlyExchangeRule

CHINA = ZoneInfo("Asia/Shanghai")
DAYS = 365
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# The events' actions, the services' vocabulary: a ticket's, and an intercept's, claim's or parcel's.
EVENT = TicketEvent.Action
PARCEL = LogisticsEvent.Action

# Short names, as orders of this shop write them and the remote-province rule compares them; weights are shares of
# orders (coastal provinces buy most; the remote six are few but present).
PROVINCES = [
    ("广东", 11.0, "广州"), ("浙江", 8.0, "杭州"), ("江苏", 8.0, "南京"), ("山东", 6.5, "济南"), ("上海", 5.5, "上海"),
    ("北京", 5.0, "北京"), ("河南", 5.0, "郑州"), ("四川", 5.0, "成都"), ("湖北", 4.0, "武汉"), ("福建", 4.0, "福州"),
    ("湖南", 3.5, "长沙"), ("河北", 3.5, "石家庄"), ("安徽", 3.5, "合肥"), ("辽宁", 2.8, "沈阳"), ("陕西", 2.5, "西安"),
    ("重庆", 2.5, "重庆"), ("江西", 2.2, "南昌"), ("广西", 2.0, "南宁"), ("天津", 2.0, "天津"), ("云南", 1.8, "昆明"),
    ("山西", 1.6, "太原"), ("黑龙江", 1.5, "哈尔滨"), ("吉林", 1.2, "长春"), ("贵州", 1.2, "贵阳"),
    ("海南", 0.6, "海口"),
    ("新疆", 0.8, "乌鲁木齐"), ("内蒙古", 0.8, "呼和浩特"), ("甘肃", 0.7, "兰州"), ("宁夏", 0.3, "银川"),
    ("青海", 0.25, "西宁"), ("西藏", 0.15, "拉萨"),
]  # fmt: skip
REMOTE = {"新疆", "西藏", "青海", "内蒙古", "甘肃", "宁夏"}

# code, name, Kuaidi100 code, Kdniao code, waybill prefix, share, postage range (yuan), claim multiple of postage
COURIERS = [
    ("ZTO", "中通快递", "zhongtong", "ZTO", "ZT", 25, (5, 9), Decimal("3")),
    ("YTO", "圆通速递", "yuantong", "YTO", "YT", 20, (5, 9), Decimal("3")),
    ("SF", "顺丰速运", "shunfeng", "SF", "SF", 18, (12, 23), None),
    ("YUNDA", "韵达速递", "yunda", "YD", "YD", 15, (5, 8), Decimal("3")),
    ("STO", "申通快递", "shentong", "STO", "ST", 10, (5, 8), Decimal("3")),
    ("JD", "京东快递", "jd", "JD", "JD", 8, (10, 18), None),
    ("EMS", "中国邮政EMS", "ems", "EMS", "EM", 4, (8, 20), Decimal("3")),
]

ITEMS = ["冲锋衣", "登山鞋", "速干T恤", "抓绒衣", "羽绒服", "帐篷", "睡袋", "登山杖", "背包", "头灯", "防晒帽",
         "徒步袜"]  # fmt: skip
COLOURS = ["黑色", "灰色", "藏青", "军绿", "橙色", "红色", "蓝色", "卡其"]
SIZES = ["S", "M", "L", "XL", "XXL", "均码"]

# Reasons per path, by code, with weights: what buyers actually choose on each path.
REASONS_BY_PATH = {
    1: [("changed_mind", 50), ("late_shipping", 20), ("address_change", 12), ("promotion_changed", 12),
        ("wrong_colour_style", 6)],
    2: [("delivery_delay", 35), ("changed_mind", 25), ("lost_parcel", 15), ("late_shipping", 15),
        ("address_change", 10)],
    3: [("quality_defect", 22), ("not_as_described", 15), ("damaged_in_transit", 12), ("missing_accessory", 10),
        ("not_as_effective", 12), ("damaged_packaging", 8), ("needs_repair", 6), ("missing_items", 6),
        ("wrong_item", 5), ("damaged_buyer_device", 1), ("wrong_contents", 3)],
    4: [("changed_mind", 38), ("wrong_colour_style", 16), ("quality_defect", 14), ("not_as_described", 12),
        ("not_as_effective", 8), ("wrong_item", 5), ("needs_repair", 4), ("wrong_contents", 3)],
}  # fmt: skip
# A corrected reason (first ≠ last): what an agent finds the request really was.
CORRECTIONS = {
    "quality_defect": "changed_mind", "not_as_described": "wrong_colour_style", "changed_mind": "quality_defect",
    "not_as_effective": "changed_mind", "damaged_in_transit": "damaged_packaging", "wrong_colour_style": "changed_mind",
    "delivery_delay": "lost_parcel", "missing_accessory": "missing_items", "late_shipping": "changed_mind",
}  # fmt: skip
ESCALATION_MESSAGES = ["再不处理我就投诉到12315", "不给退款就给差评", "我要曝光你们", "已经投诉平台了"]
BUYER_MESSAGES = ["不想要了", "尺码不合适", "和描述不一样", "质量有问题", "发货太慢了", "拍错了", "", "", "", ""]

# Per-agent refund authority (CNY): above it the agent asks a supervisor (逐级授权).
AGENT_AUTHORITY = Decimal("100.00")
SUPERVISOR_AUTHORITY = Decimal("2000.00")
AUTO_REFUND_CAP = Decimal("300.00")


# --- the plan of the year --------------------------------------------------------------------------------------------


def day_weights(days: list[date]) -> list[float]:
    """Relative order volume per day: weekends a little busier, 618 and 双12 peaks, 双11 about 8 % of the year."""
    weights = []
    for day in days:
        weight = 1.15 if day.weekday() >= 5 else 1.0
        if (day.month, day.day) in {(6, 18)}:
            weight = 8.0
        elif day.month == 6 and 1 <= day.day < 18:
            weight = 1.6
        elif (day.month, day.day) == (12, 12):
            weight = 5.0
        elif day.month == 11 and 1 <= day.day < 11:
            weight = 2.0
        elif (day.month, day.day) in {(11, 12), (11, 13)}:
            weight = 2.5
        elif (day.month == 1 and day.day >= 25) or (day.month == 2 and day.day <= 10):
            weight = 0.5  # Spring Festival: couriers stop, buyers wait
        weights.append(weight)
    for index, day in enumerate(days):
        if (day.month, day.day) == (11, 11):
            others = sum(weights) - weights[index]
            weights[index] = others * 0.08 / 0.92
    return weights


def split_counts(total: int, weights: list[float]) -> list[int]:
    """`total` split by `weights` into whole numbers that add up exactly (largest remainders)."""
    whole = sum(weights)
    exact = [total * weight / whole for weight in weights]
    counts = [math.floor(value) for value in exact]
    short = total - sum(counts)
    by_remainder = sorted(range(len(exact)), key=lambda index: (counts[index] - exact[index], index))
    for index in by_remainder[:short]:
        counts[index] += 1
    return counts


# Order minutes within a Beijing day: quiet at night, busy late morning and the evening; 双11 starts at midnight.
HOUR_WEIGHTS = [3, 1.5, 0.8, 0.5, 0.4, 0.5, 1, 2, 3.5, 5, 6, 6, 5, 5, 5.5, 5.5, 5, 5, 5, 6, 8, 9, 8, 5]
SALE_HOUR_WEIGHTS = [30, 12, 4, 2, 1, 1, 1.5, 3, 4, 5, 6, 6, 5, 5, 5.5, 5.5, 5, 5, 5, 6, 8, 9, 9, 8]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def cents_of(amount: Decimal) -> int:
    return int(amount * 100)


# --- scans --------------------------------------------------------------------------------------------------------

RETURN_TO_SENDER = timedelta(hours=48)
LAST_SCAN_TEXT = {
    "lost": "仓库 已揽收", "in_transit": "已发往目的地", "delivered": "已签收，签收人: 本人",
    "intercepted": "拦截成功，退回寄件人", "returned": "仓库 退回件已签收",
}  # fmt: skip
# A shipment's scans follow from its columns (shipped_at T0, last_scan_at L, status), one set-based insert for the
# shop: collected at T0; in transit at 30 % and 65 % of the way to F (delivery, the intercept; L itself for a parcel
# still on its way); delivering and delivered; returning at the intercept and returned 48 h later. A lost parcel has
# only its collection scan.
SCANS_SQL = """
INSERT INTO logistics_trackingevent
    (shipment_id, courier_code, tracking_number, scanned_at, status, text, location, source, received_at)
SELECT s.id, c.code, s.tracking_number, scan.at, scan.status, scan.text, scan.place, 'kuaidi100',
       scan.at + ((hashtext(s.tracking_number) & 15) + 1) * interval '1 minute'
FROM logistics_shipment s
JOIN logistics_courier c ON c.id = s.courier_id
CROSS JOIN LATERAL (
    SELECT s.shipped_at AS t0,
           CASE WHEN s.status = 'returned' THEN s.last_scan_at - interval '48 hours' ELSE s.last_scan_at END AS f
) AS way
CROSS JOIN LATERAL (VALUES
    (way.t0, 'collected', '已揽收', '仓库', true),
    (way.t0 + (way.f - way.t0) * 0.3, 'in_transit', '已到达转运中心', s.destination_province,
     s.status <> 'lost' AND way.f > way.t0),
    (way.t0 + (way.f - way.t0) * 0.65, 'in_transit', '已发往目的地', s.destination_province,
     s.status IN ('delivered', 'intercepted', 'returned') AND way.f > way.t0),
    (way.f, 'in_transit', '已发往目的地', s.destination_province, s.status = 'in_transit' AND way.f > way.t0),
    (way.f - (way.f - way.t0) * 0.05, 'delivering', '派件中', s.destination_province, s.status = 'delivered'),
    (way.f, 'delivered', '已签收，签收人: 本人', s.destination_province, s.status = 'delivered'),
    (way.f, 'returning', '拦截成功，退回寄件人', s.destination_province, s.status IN ('intercepted', 'returned')),
    (s.last_scan_at, 'returned', '退回件已签收', '仓库', s.status = 'returned')
) AS scan(at, status, text, place, wanted)
WHERE s.shop_id = %(shop)s AND s.shipped_at IS NOT NULL AND scan.wanted
"""

# The running total the refund trigger keeps, recomputed set-based (the check constraint refuses more than paid).
REFUNDED_SQL = """
UPDATE aftersales_order o SET refunded_amount = r.total
FROM (SELECT order_id, SUM(amount) AS total FROM aftersales_refund
      WHERE shop_id = %(shop)s AND status <> 'failed' GROUP BY order_id) r
WHERE o.id = r.order_id AND o.refunded_amount <> r.total
"""


# --- writing ----------------------------------------------------------------------------------------------------------

TABLES = {
    "aftersales_order": [
        "id", "shop_id", "platform_order_id", "buyer_nick", "receiver_name", "receiver_phone", "province", "city",
        "district", "address", "paid_amount", "paid_at", "packed_at", "shipped_at", "courier_code", "tracking_number",
        "delivered_at", "refunded_amount", "created_at", "updated_at",
    ],
    "aftersales_orderline": ["id", "order_id", "sku", "item_name", "quantity", "paid_amount"],
    "aftersales_aftersalesticket": [
        "id", "shop_id", "order_id", "platform_ticket_id", "kind", "path", "state", "first_reason_id", "reason_id",
        "liability", "requested_amount", "buyer_message", "escalation_risk", "opened_at", "platform_opened_late",
        "deadline", "sla_due", "attention_note", "refund_attempt", "return_courier_code", "return_tracking_number",
        "closed_at", "updated_at",
    ],
    "aftersales_refund": [
        "id", "ticket_id", "order_id", "shop_id", "kind", "amount", "status", "idempotency_key", "requested_by_id",
        "created_at", "sent_at", "confirmed_at", "gateway", "gateway_reference", "failure_reason",
    ],
    "aftersales_approvalrequest": [
        "id", "ticket_id", "shop_id", "requested_by_id", "amount", "refund_kind", "reason", "status", "requested_at",
        "due_at", "decided_by_id", "decided_at", "decision_note", "escalated_at",
    ],
    "aftersales_cutoffrequest": [
        "id", "ticket_id", "shop_id", "status", "requested_at", "due_at", "decided_at", "decided_by_id",
    ],
    "aftersales_ticketevent": [
        "id", "ticket_id", "actor_id", "at", "action", "from_state", "to_state", "amount", "note",
    ],
    "logistics_shipment": [
        "id", "shop_id", "order_id", "ticket_id", "direction", "courier_id", "tracking_number", "destination_province",
        "postage", "replaces_id", "status", "shipped_at", "last_scan_at", "last_scan_text", "delivered_at", "lost_at",
        "reappeared_at", "lost_remedy_done_at", "created_at",
    ],
    "logistics_interceptrequest": [
        "id", "shop_id", "ticket_id", "shipment_id", "courier_id", "status", "requested_by_id", "requested_at",
        "due_at", "answered_at", "overdue_flagged_at", "note", "channel", "courier_answer",
    ],
    "logistics_robotmessage": [
        "id", "shop_id", "courier_id", "intercept_id", "purpose", "text", "status", "attempts", "last_error",
        "created_at", "sent_at",
    ],
    "logistics_courierclaim": [
        "id", "shop_id", "courier_id", "order_id", "shipment_id", "ticket_id", "refund_id", "cause", "remedy",
        "loss_amount", "claim_amount", "settled_amount", "month", "status", "review_note", "courier_note",
        "created_at", "decided_at",
    ],
    "logistics_logisticsevent": [
        "id", "intercept_id", "claim_id", "shipment_id", "actor_id", "action", "from_state", "to_state", "note", "at",
    ],
    "warehouse_returnparcel": [
        "id", "shop_id", "ticket_id", "tracking_number", "courier_code", "status", "created_at", "first_scan_at",
        "received_at", "received_by_id", "inspected_at", "note",
    ],
    "warehouse_inspection": ["id", "parcel_id", "result", "notes", "inspected_by_id", "inspected_at"],
    "warehouse_inspectionline": ["id", "inspection_id", "order_line_id", "quantity_received"],
    "warehouse_evidence": [
        "id", "inspection_id", "file", "kind", "content_type", "extension", "size", "sha256", "original_name",
        "uploaded_by_id", "uploaded_at",
    ],
    "warehouse_earlyexchange": ["id", "ticket_id", "parcel_id", "shop_id", "sent_by_id", "sent_at"],
    "metrics_productreview": [
        "id", "shop_id", "platform_order_id", "reviewed_at", "rating", "logistics_rating", "imported_at",
        "first_reviewed_at", "first_rating",
    ],
    "metrics_chatsession": [
        "id", "shop_id", "platform_session_id", "started_at", "first_response_seconds", "rating", "imported_at",
    ],
}  # fmt: skip

# Deleting a shop's generated rows, children first. Each statement names the shop as %(shop)s.
_BY_TICKET = "ticket_id IN (SELECT id FROM aftersales_aftersalesticket WHERE shop_id = %(shop)s)"
_BY_SHIPMENT = "shipment_id IN (SELECT id FROM logistics_shipment WHERE shop_id = %(shop)s)"
_BY_INSPECTION = (
    "inspection_id IN (SELECT i.id FROM warehouse_inspection i JOIN warehouse_returnparcel p ON p.id = i.parcel_id"
    " WHERE p.shop_id = %(shop)s)"
)
DELETE_STATEMENTS = [
    "DELETE FROM metrics_dailymetric WHERE shop_id = %(shop)s",
    "DELETE FROM metrics_chatsession WHERE shop_id = %(shop)s",
    "DELETE FROM metrics_productreview WHERE shop_id = %(shop)s",
    "DELETE FROM warehouse_earlyexchange WHERE shop_id = %(shop)s",
    f"DELETE FROM warehouse_evidence WHERE {_BY_INSPECTION}",
    f"DELETE FROM warehouse_inspectionline WHERE {_BY_INSPECTION}",
    "DELETE FROM warehouse_inspection WHERE parcel_id IN"
    " (SELECT id FROM warehouse_returnparcel WHERE shop_id = %(shop)s)",
    "DELETE FROM warehouse_returnparcel WHERE shop_id = %(shop)s",
    "DELETE FROM logistics_logisticsevent WHERE intercept_id IN (SELECT id FROM logistics_interceptrequest"
    " WHERE shop_id = %(shop)s) OR claim_id IN (SELECT id FROM logistics_courierclaim WHERE shop_id = %(shop)s)"
    f" OR {_BY_SHIPMENT}",
    "DELETE FROM logistics_robotmessage WHERE intercept_id IN (SELECT id FROM logistics_interceptrequest"
    " WHERE shop_id = %(shop)s)",
    "DELETE FROM logistics_courierclaim WHERE shop_id = %(shop)s",
    "DELETE FROM logistics_interceptrequest WHERE shop_id = %(shop)s",
    f"DELETE FROM logistics_trackingevent WHERE {_BY_SHIPMENT}",
    "UPDATE logistics_shipment SET replaces_id = NULL WHERE shop_id = %(shop)s AND replaces_id IS NOT NULL",
    "DELETE FROM logistics_shipment WHERE shop_id = %(shop)s",
    f"DELETE FROM aftersales_ticketevent WHERE {_BY_TICKET}",
    "DELETE FROM aftersales_cutoffrequest WHERE shop_id = %(shop)s",
    "DELETE FROM aftersales_approvalrequest WHERE shop_id = %(shop)s",
    "DELETE FROM aftersales_refund WHERE shop_id = %(shop)s",
    "DELETE FROM aftersales_aftersalesticket WHERE shop_id = %(shop)s",
    "DELETE FROM aftersales_orderline WHERE order_id IN (SELECT id FROM aftersales_order WHERE shop_id = %(shop)s)",
    "DELETE FROM aftersales_order WHERE shop_id = %(shop)s",
]


def shop_rows_delete(shop_id: int) -> None:
    """Remove every row the generator (and the benchmarks) wrote for the shop, keeping the shop itself."""
    with connection.cursor() as cursor:
        for statement in DELETE_STATEMENTS:
            cursor.execute(statement, {"shop": shop_id})


class Sink:
    """Per-table row buffers written with COPY; ids are taken from each table's own sequence in blocks."""

    BLOCK = 20_000

    def __init__(self):
        self.buffers = {table: [] for table in TABLES}
        self.counts = dict.fromkeys(TABLES, 0)
        self._ids = {table: iter(()) for table in TABLES}
        self.first_ids: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        try:
            return next(self._ids[table])
        except StopIteration:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                (sequence,) = cursor.fetchone()
                cursor.execute("SELECT nextval(%s::regclass)", [sequence])
                (start,) = cursor.fetchone()
                cursor.execute("SELECT setval(%s::regclass, %s)", [sequence, start + self.BLOCK - 1])
            self._ids[table] = iter(range(start, start + self.BLOCK))
            self.first_ids.setdefault(table, start)
            return next(self._ids[table])

    def add(self, table: str, row: tuple) -> None:
        self.buffers[table].append(row)

    def pending(self) -> int:
        return sum(len(rows) for rows in self.buffers.values())

    def flush(self) -> None:
        """COPY every buffer, in dependency order (an order before the refund whose trigger updates it)."""
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            for table, columns in TABLES.items():
                rows = self.buffers[table]
                if not rows:
                    continue
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                self.counts[table] += len(rows)
                self.buffers[table] = []


# --- the generator ----------------------------------------------------------------------------------------------------


@dataclass
class People:
    system: int
    agents: list[int]
    supervisors: list[int]
    clerks: list[int]
    manager: object


@dataclass
class Result:
    shop: Shop
    counts: dict
    seconds: float
    end: datetime
    people: People = None
    tables: dict = field(default_factory=dict)


def _weighted(rng: random.Random, choices: list, cumulative: list[float]):
    return choices[bisect(cumulative, rng.random() * cumulative[-1])]


class YearGenerator:
    def __init__(self, *, shop: Shop, orders: int, tickets: int, seed: int, end: datetime, people: People, log):
        self.shop = shop
        self.total_orders = orders
        self.total_tickets = min(tickets, orders)
        self.rng = random.Random(seed)
        self.end = end
        self.people = people
        self.log = log
        self.sink = Sink()
        self.reasons = {reason.code: reason for reason in ReturnReason.objects.all()}
        self.couriers = {courier.code: courier for courier in Courier.objects.filter(code__in=[c[0] for c in COURIERS])}
        self.courier_rows = COURIERS
        self.courier_cumulative = list(accumulate(row[5] for row in COURIERS))
        self.province_cumulative = list(accumulate(row[1] for row in PROVINCES))
        self.reason_tables = {
            path: ([code for code, _w in rows], list(accumulate(weight for _c, weight in rows)))
            for path, rows in REASONS_BY_PATH.items()
        }
        self.platform = shop.platform
        self.waybill = 0
        self.review_count = 0
        self.chat_count = 0

    # -- small helpers --

    def _minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def _hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def _agent(self) -> int:
        return self.rng.choice(self.people.agents)

    def _cut(self, moment):
        return moment if moment is not None and moment <= self.end else None

    def _waybill(self, prefix: str) -> str:
        self.waybill += 1
        return f"{prefix}{7_000_000_000 + self.waybill:010d}"

    # -- the year --

    def run(self) -> dict:
        start_day = (self.end.astimezone(CHINA) - timedelta(days=DAYS)).date()
        days = [start_day + timedelta(days=offset) for offset in range(DAYS)]
        per_day = split_counts(self.total_orders, day_weights(days))
        ticket_orders = set(self.rng.sample(range(self.total_orders), self.total_tickets))
        index = 0
        for day, count in zip(days, per_day, strict=True):
            weights = SALE_HOUR_WEIGHTS if (day.month, day.day) in {(11, 11), (6, 18)} else HOUR_WEIGHTS
            cumulative = list(accumulate(weights))
            midnight = datetime(day.year, day.month, day.day, tzinfo=CHINA)
            moments = sorted(
                midnight + timedelta(hours=bisect(cumulative, self.rng.random() * cumulative[-1]) + self.rng.random())
                for _n in range(count)
            )
            for paid_at in moments:
                paid_at = paid_at.astimezone(UTC).replace(microsecond=0)
                if paid_at > self.end:
                    paid_at = self.end - self._minutes(1, 60)
                self._order(index, paid_at, with_ticket=index in ticket_orders)
                index += 1
            if self.sink.pending() > 150_000:
                self.sink.flush()
                self.log(f"  {day}: {index} orders written")
        self.sink.flush()
        return dict(self.sink.counts)

    def _order(self, index: int, paid_at: datetime, *, with_ticket: bool) -> None:
        rng = self.rng
        sink = self.sink
        order_id = sink.next_id("aftersales_order")
        province, _w, city = _weighted(rng, PROVINCES, self.province_cumulative)
        remote = province in REMOTE
        paid = max(990, min(399_900, int(math.exp(rng.gauss(math.log(15_000), 0.7)))))
        # A repeat-buyer tail: one buyer in five comes back within the year.
        buyer = f"tb{int(rng.paretovariate(1.2) * 1000) % 400_000 if rng.random() < 0.35 else 400_000 + index:07d}"
        courier_row = _weighted(rng, self.courier_rows, self.courier_cumulative)
        if remote and rng.random() < 0.4:
            courier_row = COURIERS[-1]  # EMS reaches where others subcontract
        courier = self.couriers[courier_row[0]]
        pickup = self._hours(2, 23) if rng.random() < 0.86 else self._hours(24, 60)
        shipped_at = paid_at + pickup
        packed_at = shipped_at - self._hours(0.2, min(2.0, pickup.total_seconds() / 3600))
        transit = self._hours(60, 140) if remote else self._hours(20, 80)
        delivered_at = shipped_at + transit
        lines = self._lines(order_id, paid, rng.choices((1, 2, 3), weights=(70, 22, 8))[0])

        ticket = None
        if with_ticket:
            ticket = TicketPlan.draw(self, paid_at=paid_at, shipped_at=shipped_at, delivered_at=delivered_at)
            packed_at, shipped_at, delivered_at = ticket.fulfilment(packed_at, shipped_at, delivered_at)
        packed_at, shipped_at, delivered_at = (
            self._cut(moment) and moment.replace(microsecond=0) for moment in (packed_at, shipped_at, delivered_at)
        )
        if shipped_at is None:
            delivered_at = None
        tracking = self._waybill(courier_row[4]) if shipped_at else ""
        platform_order_id = f"{2_400_000_000_000 + index * 7919 % 10_000_000_000:013d}"
        sink.add(
            "aftersales_order",
            (
                order_id, self.shop.pk, platform_order_id, buyer, f"买家{index % 9973}",
                f"1{rng.randrange(30, 99)}{rng.randrange(10**8):08d}", province, city, "",
                f"{rng.choice('东南西北中')}{rng.choice('山川河湖海')}路{rng.randrange(1, 999)}号", money(paid),
                paid_at, packed_at, shipped_at, courier.code if shipped_at else "", tracking, delivered_at, "0.00",
                paid_at, delivered_at or shipped_at or paid_at,
            ),
        )  # fmt: skip
        order = OrderFacts(
            id=order_id, platform_order_id=platform_order_id, paid=paid, paid_at=paid_at, packed_at=packed_at,
            shipped_at=shipped_at, delivered_at=delivered_at, province=province, remote=remote, courier=courier,
            courier_row=courier_row, tracking=tracking, lines=lines,
        )  # fmt: skip
        if ticket is not None:
            ticket.walk(order)
        order.shipment_id = self._outbound(order, ticket) if shipped_at else None
        if ticket is not None:
            ticket.emit()
        self._platform_data(order)

    def _lines(self, order_id: int, paid: int, count: int) -> list[tuple[int, int]]:
        rng = self.rng
        skus = rng.sample(range(480), count)
        shares = [rng.uniform(1, 3) for _sku in skus]
        left = paid
        lines = []
        for position, (sku, share) in enumerate(zip(skus, shares, strict=True)):
            amount = left if position == count - 1 else int(paid * share / sum(shares))
            left -= amount
            quantity = 1 if rng.random() < 0.85 else 2
            line_id = self.sink.next_id("aftersales_orderline")
            name = f"{ITEMS[sku % len(ITEMS)]} {COLOURS[sku // 12 % len(COLOURS)]} {SIZES[sku // 96 % len(SIZES)]}"
            self.sink.add("aftersales_orderline", (line_id, order_id, f"SKU{sku:05d}", name, quantity, money(amount)))
            lines.append((line_id, quantity))
        return lines

    def _outbound(self, order: "OrderFacts", ticket: "TicketPlan | None") -> int:
        """The parcel to the buyer as it stands at `end`: delivered, on its way, stopped by an intercept (and perhaps
        back at the sender) or lost. Its scans are written afterwards by SCANS_SQL from these columns."""
        shipment_id = self.sink.next_id("logistics_shipment")
        low, high = order.courier_row[6]
        postage = self.rng.randrange(low * 100, high * 100 + 1)
        order.postage = postage
        shipped = order.shipped_at
        stop = ticket.parcel_stop if ticket else None  # (status, at) decided by the ticket's path
        if stop and stop[1] > self.end:
            stop = None  # not lost or stopped yet: on its way
        delivered_at = lost_at = remedied = None
        if stop and stop[0] == "lost":
            status, last_scan, lost_at = "lost", shipped, stop[1]  # collected, then nothing for 48 h / 72 h
            remedied = lost_at if ticket.refunds else None
        elif stop:
            status, last_scan = "intercepted", stop[1]
            if stop[0] == "returned" and stop[1] + RETURN_TO_SENDER <= self.end:
                status, last_scan = "returned", stop[1] + RETURN_TO_SENDER
        elif order.delivered_at:
            status, last_scan, delivered_at = "delivered", order.delivered_at, order.delivered_at
        else:
            status, last_scan = "in_transit", shipped + (self.end - shipped) * 0.65
        self.sink.add(
            "logistics_shipment",
            (
                shipment_id, self.shop.pk, order.id, None, "outbound", order.courier.pk, order.tracking, order.province,
                money(postage), None, status, shipped, last_scan.replace(microsecond=0), LAST_SCAN_TEXT[status],
                delivered_at, lost_at, None, remedied, shipped,
            ),
        )  # fmt: skip
        return shipment_id

    def _platform_data(self, order: "OrderFacts") -> None:
        rng = self.rng
        if order.delivered_at and rng.random() < 0.12:
            reviewed = self._cut(order.delivered_at + self._hours(6, 240))
            if reviewed:
                rating = rng.choices((5, 4, 3, 2, 1), weights=(80, 10, 4, 3, 3))[0]
                self.sink.add(
                    "metrics_productreview",
                    (
                        self.sink.next_id("metrics_productreview"), self.shop.pk, order.platform_order_id, reviewed,
                        rating, rng.choice((None, 5, 5, 4, 3)), reviewed, reviewed, rating,
                    ),
                )  # fmt: skip
        if rng.random() < 0.15:
            self.chat_count += 1
            before = rng.random() < 0.6
            started = self._cut(order.paid_at - self._minutes(5, 600) if before else order.paid_at + self._hours(1, 96))
            if started:
                answered = None if rng.random() < 0.03 else int(rng.expovariate(1 / 25)) + 3
                rating = rng.choices((None, 5, 4, 3, 2, 1), weights=(55, 32, 7, 3, 2, 1))[0]
                self.sink.add(
                    "metrics_chatsession",
                    (
                        self.sink.next_id("metrics_chatsession"), self.shop.pk, f"CS{self.chat_count:09d}", started,
                        answered, rating, started,
                    ),
                )  # fmt: skip


@dataclass
class OrderFacts:
    id: int
    platform_order_id: str
    paid: int
    paid_at: datetime
    packed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    province: str
    remote: bool
    courier: Courier
    courier_row: tuple
    tracking: str
    lines: list
    postage: int = 0
    shipment_id: int | None = None


class Stop(Exception):  # noqa: N818
    """The ticket's next step would fall after the end of the year: it stays where it is."""


class TicketPlan:
    """One ticket walked through its path. `event` writes a step (and moves the state) or raises Stop."""

    def __init__(self, gen: YearGenerator, path: int, kind: str, opened_at: datetime, outcome: str):
        self.gen = gen
        self.rng = gen.rng
        self.path = path
        self.kind = kind
        self.opened_at = opened_at.replace(microsecond=0)
        self.outcome = outcome
        self.parcel_stop = None  # (shipment status, at) when this ticket stops or loses the outbound parcel
        self.refunds = []

    # -- choosing what happens --

    @classmethod
    def draw(cls, gen: YearGenerator, *, paid_at, shipped_at, delivered_at) -> "TicketPlan":
        plan = cls._draw(gen, paid_at=paid_at, shipped_at=shipped_at, delivered_at=delivered_at)
        if plan.opened_at > gen.end:
            # The buyer would ask after the year ends: in the last hours of the year only not-shipped refunds come in.
            opened = paid_at + (gen.end - paid_at) * gen.rng.uniform(0.1, 0.9)
            plan = cls(gen, 1, "refund_only", min(opened, shipped_at - timedelta(minutes=10)), "auto")
        plan.paid_at = paid_at
        return plan

    @classmethod
    def _draw(cls, gen: YearGenerator, *, paid_at, shipped_at, delivered_at) -> "TicketPlan":
        rng = gen.rng
        path = rng.choices((1, 2, 3, 4), weights=(28, 10, 25, 37))[0]
        if path == 1:
            opened = min(paid_at + timedelta(minutes=rng.expovariate(1 / 180) + 3), shipped_at - timedelta(minutes=10))
            outcome = rng.choices(("auto", "agent", "cutoff", "withdraw"), weights=(81, 9, 5, 5))[0]
            return cls(gen, 1, "refund_only", opened, outcome)
        if path == 2:
            span = (delivered_at - shipped_at).total_seconds()
            opened = shipped_at + timedelta(seconds=span * rng.uniform(0.15, 0.8))
            if rng.random() < 0.1:
                return cls(gen, 2, "reship", opened, "reship")
            outcome = rng.choices(("intercept", "intercept_failed", "lost", "refund_first"), weights=(58, 17, 12, 13))
            return cls(gen, 2, "refund_only", opened, outcome[0])
        if path == 3:
            opened = delivered_at + timedelta(hours=rng.uniform(2, 24 * 10))
            kind = rng.choices(("compensation", "refund_only", "reship"), weights=(50, 40, 10))[0]
            if kind == "refund_only":
                outcome = rng.choices(("guide_return", "reject", "refund", "dispute"), weights=(40, 22, 30, 8))[0]
            else:
                outcome = "compensate" if kind == "compensation" else "reship"
            return cls(gen, 3, kind, opened, outcome)
        opened = delivered_at + timedelta(hours=rng.uniform(1, 24 * 7))
        kind = "exchange" if rng.random() < 0.15 else "return_refund"
        return cls(gen, 4, kind, opened, "withdraw" if rng.random() < 0.05 else "return")

    def fulfilment(self, packed_at, shipped_at, delivered_at):
        """The order's own clocks as this ticket leaves them: a refunded path-1 order never ships (a cut-off one was
        packed), an intercepted or lost parcel never reaches the buyer."""
        if self.path == 1:
            if self.outcome == "withdraw":
                return packed_at, shipped_at, delivered_at
            if self.outcome == "cutoff":
                packed = max(self.paid_at + MINUTE, self.opened_at - timedelta(minutes=self.rng.uniform(5, 60)))
                return packed.replace(microsecond=0), None, None
            return None, None, None
        if self.path == 2 and self.outcome in ("intercept", "refund_first", "lost"):
            return packed_at, shipped_at, None
        return packed_at, shipped_at, delivered_at

    # -- walking --

    def walk(self, order: OrderFacts) -> None:
        gen, rng = self.gen, self.rng
        self.order = order
        self.id = gen.sink.next_id("aftersales_aftersalesticket")
        codes, cumulative = gen.reason_tables[self.path]
        first = gen.reasons["delivery_delay" if self.outcome == "lost" else _weighted(rng, codes, cumulative)]
        self.first_reason = self.reason = first
        self.liability = first.default_liability
        self.state = "requested"
        self.closed_at = None
        self.refund_attempt = 0
        self.return_courier_code = self.return_tracking_number = ""
        # The agent who works the ticket (picked on first use); the early exchange records who sent it.
        self.agent_id = None
        self.attention_note = ""
        if self.kind == "compensation":
            self.requested = max(500, int(order.paid * rng.uniform(0.05, 0.35)) // 100 * 100)
        elif self.kind in ("reship", "exchange"):
            self.requested = 0
        else:
            self.requested = order.paid
        self.escalation = rng.random() < 0.03
        self.message = rng.choice(ESCALATION_MESSAGES if self.escalation else BUYER_MESSAGES)
        platform = gen.platform
        returning = self.kind in ("return_refund", "exchange")
        hours = platform.return_response_hours if returning else platform.refund_response_hours
        self.deadline = self.opened_at + timedelta(hours=hours)
        sla = timedelta(minutes=gen.shop.path1_sla_minutes) if self.path == 1 else timedelta(hours=gen.shop.sla_hours)
        self.sla_due = min(self.opened_at + sla, self.deadline)
        self.platform_opened_late = self.path == 3 and rng.random() < 0.01
        self.platform_ticket_id = f"RF{order.platform_order_id}"
        self.events = []
        self.now = self.opened_at
        try:
            system = gen.people.system
            self.event(self.opened_at, system, EVENT.OPENED, "requested", amount=self.requested, note=self.message)
            getattr(self, f"_path{self.path}")()
        except Stop:
            pass

    def event(self, at, actor, action, to_state=None, *, amount=None, note="") -> None:
        """One step at `at` by `actor`; moves the ticket to `to_state` (None: stays). Raises Stop past the end."""
        if at > self.gen.end:
            raise Stop
        at = at.replace(microsecond=0)
        self.now = at
        from_state = "" if action == EVENT.OPENED else self.state
        if to_state:
            self.state = to_state
        self.events.append((at, actor, action, from_state, self.state, money(amount) if amount else None, note))
        if self.state in ("refunded", "resolved", "cancelled", "closed"):
            self.closed_at = at

    def later(self, low_minutes: float, high_minutes: float) -> datetime:
        return self.now + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))

    def agent_later(self, low_minutes: float, high_minutes: float) -> datetime:
        """An agent's next move: in working hours (09:00–23:00 Beijing), else the next morning."""
        at = self.later(low_minutes, high_minutes)
        local = at.astimezone(CHINA)
        if local.hour < 9:
            at = local.replace(hour=9, minute=self.rng.randrange(60)).astimezone(UTC)
        elif local.hour >= 23:
            at = (local + DAY).replace(hour=9, minute=self.rng.randrange(60)).astimezone(UTC)
        return at

    def agent(self) -> int:
        if self.agent_id is None:
            self.agent_id = self.gen._agent()
        return self.agent_id

    def refund(self, at, by, action, *, amount=None, note="", on_start=None) -> None:
        """The service's _start_refund (ticket → refunding, a pending refund) and, seconds later, the gateway's
        answer (→ refunded; one in a hundred fails and an agent retries with a new attempt)."""
        amount = amount or self.requested or self.order.paid
        self.event(at, by, action, "refunding", amount=amount, note=note)
        refund = {
            "id": self.gen.sink.next_id("aftersales_refund"), "amount": amount, "status": "pending",
            "kind": "compensation" if self.kind == "compensation" else
                    ("full" if amount == self.order.paid else "partial"),
            "key": f"ticket-{self.id}-attempt-{self.refund_attempt}", "by": by, "created_at": self.now,
            "confirmed_at": None, "failure": "",
        }  # fmt: skip
        self.refunds.append(refund)
        if on_start:
            on_start()
        answered = self.later(0.05, 1.5)
        if self.rng.random() < 0.01:
            failure = "渠道退款失败：买家账户异常"
            self.event(answered, self.gen.people.system, EVENT.REFUND_FAILED, "requested", amount=amount, note=failure)
            refund.update(status="failed", failure=failure)
            self.refund_attempt += 1
            self.attention_note = failure
            self.refund(self.agent_later(20, 300), self.agent(), EVENT.REFUND_APPROVED, amount=amount)
            return
        self.event(answered, self.gen.people.system, EVENT.REFUND_SUCCEEDED, "refunded", amount=amount)
        refund.update(status="succeeded", confirmed_at=self.now)
        self.attention_note = ""

    def approval(self, amount: int) -> None:
        """Above the agent's authority: a supervisor decides, mostly within the shop's 4 hours."""
        gen = self.gen
        by = self.agent()
        asked = self.agent_later(10, 240)
        self.event(asked, by, EVENT.APPROVAL_REQUESTED, "awaiting_approval", amount=amount, note="超出本人权限")
        approval = {
            "id": gen.sink.next_id("aftersales_approvalrequest"), "by": by, "amount": amount, "at": self.now,
            "due": self.now + timedelta(hours=gen.shop.approval_due_hours), "status": "pending", "decided_by": None,
            "decided_at": None, "note": "", "escalated": None,
        }  # fmt: skip
        self.approval_row = approval
        decided = self.later(10, 200) if self.rng.random() < 0.9 else self.later(250, 600)
        if decided > approval["due"] and approval["due"] <= gen.end:
            approval["escalated"] = approval["due"] + timedelta(minutes=self.rng.uniform(1, 15))
        if decided > gen.end:
            raise Stop
        supervisor = self.rng.choice(gen.people.supervisors)
        decided = decided.replace(microsecond=0)
        if self.rng.random() < 0.8:
            approval.update(status="approved", decided_by=supervisor, decided_at=decided)
            self.refund(decided, supervisor, EVENT.APPROVAL_APPROVED, amount=amount)
            return
        approval.update(status="declined", decided_by=supervisor, decided_at=decided, note="金额过高，请与买家协商")
        self.event(decided, supervisor, EVENT.APPROVAL_DECLINED, "requested", note=approval["note"])
        self.attention_note = approval["note"]

    # -- the four paths --

    def _path1(self):
        people = self.gen.people
        if self.outcome == "withdraw":
            self.event(self.later(2, 25), people.system, EVENT.WITHDRAWN, "cancelled", note="买家撤销申请")
        elif self.outcome == "cutoff":
            self.event(self.later(0.02, 0.3), people.system, EVENT.CUTOFF_REQUESTED, note="已打包，通知仓库截单")
            self.cutoff = {"id": self.gen.sink.next_id("aftersales_cutoffrequest"), "at": self.now}
            clerk = self.rng.choice(people.clerks)
            held = self.later(10, 180)

            def hold():
                self.cutoff.update(status="held", decided_at=self.now, decided_by=clerk)

            self.refund(held, clerk, EVENT.CUTOFF_HELD, note="仓库已拦截", on_start=hold)
        elif self.outcome == "agent" or self.requested > cents_of(AUTO_REFUND_CAP):
            self.refund(self.agent_later(3, 45), self.agent(), EVENT.REFUND_APPROVED)
        else:
            self.refund(self.later(0.02, 0.3), people.system, EVENT.AUTO_REFUND, note="未发货，自动退款")

    def _path2(self):
        gen, people, rng = self.gen, self.gen.people, self.rng
        order = self.order
        if self.outcome == "reship":
            self.event(self.agent_later(20, 300), self.agent(), EVENT.RESOLVED_RESHIP, "resolved", note="补发")
            return
        if self.outcome == "lost":
            hours = 72 if order.remote else 48
            self.lost_at = (order.shipped_at + timedelta(hours=hours + rng.uniform(1, 12))).replace(microsecond=0)
            self.parcel_stop = ("lost", self.lost_at)
            self.liability = "courier"
            at = max(self.lost_at, self.now + timedelta(minutes=rng.uniform(5, 60)))
            self.refund(at, people.system, EVENT.PARCEL_LOST, note=f"{hours} 小时无物流更新，按丢件处理")
            return
        by = self.agent()
        self.event(self.agent_later(5, 120), by, EVENT.INTERCEPT_REQUESTED, "intercepting", note="请快递拦截")
        due = self.now + timedelta(minutes=order.courier.intercept_answer_minutes)
        self.intercept = {"id": gen.sink.next_id("logistics_interceptrequest"), "at": self.now, "by": by, "due": due,
                          "status": "requested", "answered": None, "flagged": None}  # fmt: skip
        asked_at = self.now
        if self.outcome == "refund_first":
            self.refund(self.agent_later(5, 60), by, EVENT.REFUND_BEFORE_INTERCEPT, note="先退款后拦截")
        late = rng.random() >= 0.85
        answered = asked_at + timedelta(minutes=rng.uniform(130, 400) if late else rng.uniform(15, 100))
        if self.outcome == "intercept_failed" and order.delivered_at:
            answered = max(answered, order.delivered_at + timedelta(minutes=rng.uniform(5, 90)))
        answered = max(answered, self.now).replace(microsecond=0)
        if answered > due and due <= gen.end:
            self.intercept["flagged"] = due + timedelta(minutes=rng.uniform(1, 15))
        if answered > gen.end:
            raise Stop
        self.intercept["answered"] = answered
        if self.outcome == "refund_first":
            self.intercept["status"] = "confirmed"
            self.parcel_stop = ("returned" if rng.random() < 0.7 else "intercepted", answered)
            return
        if self.outcome == "intercept_failed":
            self.intercept["status"] = "failed"
            self.path = 3
            self.event(answered, people.system, EVENT.INTERCEPT_FAILED, "requested", note="快递已派送，拦截失败")
            if rng.random() < 0.6:
                self.event(self.later(60, 60 * 30), people.system, EVENT.WITHDRAWN, "cancelled", note="已收到货，撤销")
            else:
                self._return_flow(agree_after=(10, 240))
            return
        self.intercept["status"] = "confirmed"
        self.parcel_stop = ("returned" if rng.random() < 0.7 else "intercepted", answered)
        self.refund(answered, by, EVENT.INTERCEPT_CONFIRMED, note="快递确认拦截")

    def _path3(self):
        people = self.gen.people
        self._maybe_correct_reason()
        if self.outcome == "reship":
            self.event(self.agent_later(20, 480), self.agent(), EVENT.RESOLVED_RESHIP, "resolved", note="补发配件")
            return
        if self.outcome == "guide_return":
            self._return_flow(agree_after=(10, 480))
            return
        if self.outcome in ("compensate", "refund"):
            amount = min(self.requested, cents_of(SUPERVISOR_AUTHORITY))
            if amount <= cents_of(AGENT_AUTHORITY):
                self.refund(self.agent_later(10, 480), self.agent(), EVENT.REFUND_APPROVED, amount=amount)
                return
            self.approval(amount)
            if self.state != "requested":
                return
            # Declined: the agent offers what their own authority allows, or refuses.
            if self.outcome == "compensate":
                offer = cents_of(AGENT_AUTHORITY)
                self.refund(self.agent_later(10, 120), self.agent(), EVENT.REFUND_APPROVED, amount=offer)
                return
        self.event(self.agent_later(20, 600), self.agent(), EVENT.REJECTED, "rejected", note="已签收且无质量问题")
        if self.outcome != "dispute":
            self.event(self.later(60 * 24, 60 * 24 * 7), people.system, EVENT.CLOSED, "closed", note="买家接受")
            return
        self.escalation = True
        self.event(self.later(120, 60 * 48), people.system, EVENT.PLATFORM_REVIEW, "platform_review",
                   note="买家申请平台介入")  # fmt: skip
        ruled = self.later(60 * 24, 60 * 24 * 4)
        if self.rng.random() < 0.45:
            self.liability = "merchant"
            self.refund(ruled, people.system, EVENT.RULED_FOR_BUYER, note="平台判定支持买家")
        else:
            self.event(ruled, people.system, EVENT.RULED_FOR_MERCHANT, EVENT.CLOSED, note="平台判定支持商家")

    def _path4(self):
        self._maybe_correct_reason()
        self._return_flow(agree_after=(5, 360))

    def _maybe_correct_reason(self):
        if self.rng.random() < 0.12 and self.reason.code in CORRECTIONS:
            corrected = self.gen.reasons[CORRECTIONS[self.reason.code]]
            self.event(self.agent_later(5, 240), self.agent(), EVENT.REASON_CHANGED,
                       note=f"{self.reason.code} → {corrected.code}")  # fmt: skip
            self.reason = corrected
            self.liability = corrected.default_liability

    def _return_flow(self, *, agree_after):
        """Agree the return, the buyer sends it, the warehouse receives and inspects it, then refund or exchange."""
        gen, people, rng = self.gen, self.gen.people, self.rng
        order = self.order
        self.event(
            self.agent_later(*agree_after), self.agent(), EVENT.RETURN_AGREED, "awaiting_return", note="同意退货"
        )
        self.path = 4
        if self.kind != "exchange":
            self.kind = "return_refund"
            self.requested = order.paid
        if self.outcome == "withdraw":
            self.event(
                self.later(60 * 6, 60 * 24 * 5), people.system, EVENT.WITHDRAWN, "cancelled", note="买家撤销退货"
            )
            return
        courier_row = rng.choice(COURIERS[:5])
        number = gen._waybill("R" + courier_row[4])
        shipped = self.later(60 * 3, 60 * 24 * 3)
        self.event(shipped, people.system, EVENT.RETURN_SHIPPED, "return_in_transit", note=f"{courier_row[0]} {number}")
        self.return_courier_code = courier_row[0]
        self.return_tracking_number = number
        parcel = {
            "id": gen.sink.next_id("warehouse_returnparcel"), "number": number, "courier": courier_row[0],
            "created": shipped, "first_scan": self._cut(shipped + timedelta(hours=rng.uniform(2, 20))),
            "status": "expected", "received": None, "clerk": None, "inspected": None,
        }  # fmt: skip
        self.parcel = parcel
        self.return_shipment = {"courier": courier_row[0], "number": number, "shipped": shipped, "delivered": None}
        if self.kind == "exchange" and parcel["first_scan"] and rng.random() < 0.3:
            self.event(self.later(60, 60 * 20), self.agent(), EVENT.EARLY_REPLACEMENT, note="提前换出")
            self.early = self.now
        clerk = rng.choice(people.clerks)
        self.event(self.later(60 * 30, 60 * 100), clerk, EVENT.RETURN_RECEIVED, "received", note="仓库签收")
        parcel.update(status="received", received=self.now, clerk=clerk)
        self.return_shipment["delivered"] = self.now
        inspected = self.later(60, 60 * 30).replace(microsecond=0)
        if inspected > gen.end:
            raise Stop
        result = rng.choices(("ok", "damaged", "missing_items", "swapped", "used"), weights=(91, 3, 3, 1, 2))[0]
        parcel.update(status="inspected", inspected=inspected, result=result, inspector=clerk)
        if result == "ok":
            if self.kind == "exchange":
                self.event(inspected, clerk, EVENT.RESOLVED_EXCHANGE, "resolved", note="验货通过，换货发出")
            else:
                self.refund(inspected, clerk, EVENT.INSPECTION_PASSED, note="验货通过")
            return
        self.event(inspected, clerk, EVENT.FLAGGED, note=f"验货异常：{result}")
        self.event(
            self.agent_later(20, 600), self.agent(), EVENT.REJECTED, "rejected", note="验货异常，附照片与开箱视频"
        )
        self.event(self.later(60 * 24, 60 * 24 * 5), people.system, EVENT.CLOSED, "closed", note="买家接受")

    def _cut(self, moment):
        return self.gen._cut(moment)

    # -- rows --

    def emit(self) -> None:
        sink, shop_id = self.gen.sink, self.gen.shop.pk
        order = self.order
        if self.state not in ("refunded", "resolved", "cancelled", "closed"):
            self.closed_at = None
        if self.state != "requested":
            self.attention_note = ""
        sink.add(
            "aftersales_aftersalesticket",
            (
                self.id, shop_id, order.id, self.platform_ticket_id, self.kind, self.path, self.state,
                self.first_reason.pk, self.reason.pk, self.liability, money(self.requested), self.message,
                self.escalation, self.opened_at, self.platform_opened_late, self.deadline, self.sla_due,
                self.attention_note, self.refund_attempt, self.return_courier_code, self.return_tracking_number,
                self.closed_at, self.now,
            ),
        )  # fmt: skip
        for at, actor, action, from_state, to_state, amount, note in self.events:
            sink.add(
                "aftersales_ticketevent",
                (
                    sink.next_id("aftersales_ticketevent"),
                    self.id,
                    actor,
                    at,
                    action,
                    from_state,
                    to_state,
                    amount,
                    note,
                ),  # fmt: skip
            )
        for refund in self.refunds:
            executed = refund["confirmed_at"]
            sink.add(
                "aftersales_refund",
                (
                    refund["id"], self.id, order.id, shop_id, refund["kind"], money(refund["amount"]), refund["status"],
                    refund["key"], refund["by"], refund["created_at"], executed, executed,
                    "batch_file" if refund["status"] != "pending" else "",
                    f"BATCH-{executed.astimezone(CHINA):%Y%m%d}-{refund['id']}" if executed else "", refund["failure"],
                ),
            )  # fmt: skip
        approval = getattr(self, "approval_row", None)
        if approval:
            sink.add(
                "aftersales_approvalrequest",
                (
                    approval["id"], self.id, shop_id, approval["by"], money(approval["amount"]),
                    "compensation" if self.kind == "compensation" else "partial", "超出本人权限", approval["status"],
                    approval["at"], approval["due"], approval["decided_by"], approval["decided_at"], approval["note"],
                    approval["escalated"],
                ),
            )  # fmt: skip
        cutoff = getattr(self, "cutoff", None)
        if cutoff:
            sink.add(
                "aftersales_cutoffrequest",
                (cutoff["id"], self.id, shop_id, cutoff["status"], cutoff["at"], cutoff["at"] + timedelta(hours=2),
                 cutoff.get("decided_at"), cutoff.get("decided_by")),
            )  # fmt: skip
        self._emit_logistics()
        self._emit_warehouse()

    def _emit_logistics(self) -> None:
        gen, sink, shop_id, rng = self.gen, self.gen.sink, self.gen.shop.pk, self.rng
        order = self.order
        people = gen.people
        intercept = getattr(self, "intercept", None)
        if intercept and order.shipment_id:
            sink.add(
                "logistics_interceptrequest",
                (
                    intercept["id"], shop_id, self.id, order.shipment_id, order.courier.pk, intercept["status"],
                    intercept["by"], intercept["at"], intercept["due"], intercept["answered"], intercept["flagged"],
                    "请快递拦截", "robot", "",
                ),
            )  # fmt: skip
            sink.add(
                "logistics_robotmessage",
                (
                    sink.next_id("logistics_robotmessage"), shop_id, order.courier.pk, intercept["id"],
                    "intercept_request",
                    f"【拦截】{order.tracking} 请拦截退回，{intercept['due'].astimezone(CHINA):%H:%M} 前回复",
                    "sent", 1, "", intercept["at"], intercept["at"] + timedelta(seconds=rng.uniform(1, 30)),
                ),
            )  # fmt: skip
            sink.add(
                "logistics_logisticsevent",
                (sink.next_id("logistics_logisticsevent"), intercept["id"], None, None, intercept["by"],
                 PARCEL.REQUESTED, "", "requested", "", intercept["at"]),
            )  # fmt: skip
            if intercept["answered"]:
                sink.add(
                    "logistics_logisticsevent",
                    (sink.next_id("logistics_logisticsevent"), intercept["id"], None, None, people.system,
                     PARCEL(intercept["status"]), "requested", intercept["status"], "", intercept["answered"]),
                )  # fmt: skip
        # Claims: a lost parcel, or a refund made before the courier answered an intercept (先退款后拦截).
        cause = None
        if self.outcome == "lost" and self.refunds and order.shipment_id:
            cause = "lost"
        elif self.outcome == "refund_first" and self.refunds and order.shipment_id:
            cause = "intercept"
        if cause:
            refund = next((r for r in self.refunds if r["status"] != "failed"), None)
            if refund is None:
                return
            created = refund["created_at"]
            loss = refund["amount"]
            multiple = order.courier_row[7]
            claim = min(loss, int(order.postage * multiple)) if multiple else loss
            month = created.astimezone(CHINA).date().replace(day=1)
            end_month = gen.end.astimezone(CHINA).date().replace(day=1)
            age = (end_month.year - month.year) * 12 + end_month.month - month.month
            settled = decided = None
            status, note = "open", ""
            if cause == "intercept" and self.parcel_stop and self.parcel_stop[0] in ("returned", "intercepted"):
                status, note = "withdrawn", "拦截成功，包裹退回，无需理赔"
            elif age >= 2:
                if rng.random() < 0.85:
                    status, settled, note = "settled", claim, "已赔付"
                else:
                    status, settled, note = "rejected", 0, "超出理赔时效"
                decided = min(gen.end, created + timedelta(days=rng.uniform(25, 50)))
            elif age == 1:
                status = "submitted"
            claim_id = sink.next_id("logistics_courierclaim")
            sink.add(
                "logistics_courierclaim",
                (
                    claim_id, shop_id, order.courier.pk, order.id, order.shipment_id, self.id, refund["id"], cause,
                    "refund", money(loss), money(claim), money(settled) if settled is not None else None, month,
                    status, note if status == "withdrawn" else "", note if status in ("settled", "rejected") else "",
                    created, decided,
                ),
            )  # fmt: skip
            sink.add(
                "logistics_logisticsevent",
                (sink.next_id("logistics_logisticsevent"), None, claim_id, None, people.system, PARCEL.REGISTERED, "",
                 "open", "", created),
            )  # fmt: skip
            if cause == "lost":
                sink.add(
                    "logistics_logisticsevent",
                    (sink.next_id("logistics_logisticsevent"), None, None, order.shipment_id, people.system,
                     PARCEL.DECLARED_LOST, "in_transit", "lost", "", self.lost_at),
                )  # fmt: skip

    def _emit_warehouse(self) -> None:
        gen, sink, shop_id, rng = self.gen, self.gen.sink, self.gen.shop.pk, self.rng
        parcel = getattr(self, "parcel", None)
        if not parcel:
            return
        order = self.order
        courier = gen.couriers[parcel["courier"]]
        shipment = self.return_shipment
        delivered = shipment["delivered"]
        status = "delivered" if delivered else "in_transit"
        last_scan = delivered or parcel["first_scan"] or shipment["shipped"]
        sink.add(
            "logistics_shipment",
            (
                sink.next_id("logistics_shipment"), shop_id, order.id, self.id, "return", courier.pk, parcel["number"],
                "浙江", None, None, status, shipment["shipped"], last_scan, "退货件", delivered, None, None, None,
                shipment["shipped"],
            ),
        )  # fmt: skip
        sink.add(
            "warehouse_returnparcel",
            (
                parcel["id"], shop_id, self.id, parcel["number"], parcel["courier"], parcel["status"],
                parcel["created"], parcel["first_scan"], parcel["received"], parcel["clerk"], parcel["inspected"], "",
            ),
        )  # fmt: skip
        early = getattr(self, "early", None)
        if early:
            sink.add(
                "warehouse_earlyexchange",
                (sink.next_id("warehouse_earlyexchange"), self.id, parcel["id"], shop_id, self.agent_id, early),
            )
        if parcel["status"] != "inspected":
            return
        inspection_id = sink.next_id("warehouse_inspection")
        result = parcel["result"]
        sink.add(
            "warehouse_inspection",
            (inspection_id, parcel["id"], result, "" if result == "ok" else f"验货异常：{result}",
             parcel["inspector"], parcel["inspected"]),
        )  # fmt: skip
        for position, (line_id, quantity) in enumerate(order.lines):
            received = quantity - 1 if result == "missing_items" and position == 0 else quantity
            sink.add("warehouse_inspectionline", (sink.next_id("warehouse_inspectionline"), inspection_id, line_id,
                                                  max(received, 0)))  # fmt: skip
        if result != "ok":
            for kind, extension, content_type in (("photo", "jpg", "image/jpeg"), ("video", "mp4", "video/mp4")):
                digest = hashlib.sha256(f"{parcel['number']}-{kind}".encode()).hexdigest()
                stamp = parcel["inspected"].astimezone(CHINA)
                size = rng.randrange(200_000, 3_000_000) if kind == "photo" else rng.randrange(5_000_000, 90_000_000)
                sink.add(
                    "warehouse_evidence",
                    (
                        sink.next_id("warehouse_evidence"), inspection_id,
                        f"evidence/{shop_id}/{stamp:%Y/%m}/{digest}.{extension}", kind, content_type, extension,
                        size, digest, f"{parcel['number']}.{extension}", parcel["inspector"], parcel["inspected"],
                    ),
                )  # fmt: skip


# --- the shop, its people and its couriers ----------------------------------------------------------------------------


def prepare_shop(*, shop_code: str, seed: int) -> tuple[Shop, People]:
    """The shop with its policy, people (agents, supervisors, clerks, a manager), couriers and tracking account."""
    shop = shop_upsert(code=shop_code, name=f"基准店铺 {shop_code}", platform_code="tmall")
    Shop.objects.filter(pk=shop.pk).update(auto_refund_enabled=True, auto_refund_max_amount=AUTO_REFUND_CAP)
    shop.refresh_from_db()
    for code, name, k100, kdn, _prefix, _share, _postage, multiple in COURIERS:
        courier_upsert(code=code, name=name, kuaidi100_code=k100, kdniao_code=kdn, claim_postage_multiple=multiple)
    users = get_user_model().objects

    def staff(username, group):
        user, _created = users.get_or_create(username=username, defaults={"is_staff": True})
        if _created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=group))
        shop_assign_user(shop=shop, user=user)
        return user

    agents = [staff(f"{shop_code}-agent-{n:02d}", "Agent").pk for n in range(1, 21)]
    supervisors = [staff(f"{shop_code}-lead-{n}", "Supervisor").pk for n in range(1, 4)]
    clerks = [staff(f"{shop_code}-clerk-{n}", "Warehouse").pk for n in range(1, 4)]
    manager = staff(f"{shop_code}-manager", "Manager")
    for group, amount in (("Agent", AGENT_AUTHORITY), ("Supervisor", SUPERVISOR_AUTHORITY)):
        RefundAuthority.objects.update_or_create(
            shop=shop, group=Group.objects.get(name=group), defaults={"max_amount": amount}
        )
    TrackingAccount.objects.update_or_create(
        shop=shop, provider=TrackingProvider.BULK, defaults={"signing_key": bulk_signing_key(seed), "is_active": True}
    )
    LostParcelPolicy.objects.get_or_create(shop=shop)
    EarlyExchangeRule.objects.update_or_create(shop=shop, defaults={"is_enabled": True, "max_price": Decimal("300")})
    scorecard = Scorecard.objects.in_force(shop.platform, timezone.localdate()).first()
    if scorecard:
        ShopScorecard.objects.update_or_create(shop=shop, defaults={"scorecard": scorecard})
    people = People(system=system_user().pk, agents=agents, supervisors=supervisors, clerks=clerks, manager=manager)
    return shop, people


def bulk_signing_key(seed: int) -> str:
    return hashlib.sha256(f"bench-bulk-{seed}".encode()).hexdigest()


def default_end() -> datetime:
    """The top of the current hour: recent enough for the dashboard's last 30 days, the same within the hour."""
    return timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@contextmanager
def triggers_off():
    """Switch off foreign-key and user triggers for the enclosed statements when the role may (a superuser, as on
    the development and CI machines): a COPY then costs a few microseconds a row instead of a deferred foreign-key
    check each at commit. Yields whether they are off; whoever writes then checks what they would have guaranteed.
    Call inside a transaction (SET LOCAL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (superuser,) = cursor.fetchone()
        if not superuser:
            yield False
            return
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield True
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")


def prefixed_tickets_remove(shop, prefix: str) -> None:
    """Delete a benchmark's own orders (platform order id starting with `prefix`) with their tickets, cut-offs,
    refunds and events, so the benchmark can run again on the same year."""
    orders = f"SELECT id FROM aftersales_order WHERE shop_id = %(shop)s AND platform_order_id LIKE '{prefix}%%'"
    tickets = f"SELECT id FROM aftersales_aftersalesticket WHERE order_id IN ({orders})"
    with transaction.atomic(), triggers_off(), connection.cursor() as cursor:
        for statement in (
            f"DELETE FROM aftersales_ticketevent WHERE ticket_id IN ({tickets})",
            f"DELETE FROM aftersales_cutoffrequest WHERE ticket_id IN ({tickets})",
            f"DELETE FROM aftersales_refund WHERE ticket_id IN ({tickets})",
            f"DELETE FROM aftersales_aftersalesticket WHERE order_id IN ({orders})",
            f"DELETE FROM aftersales_order WHERE id IN ({orders})",
        ):
            cursor.execute(statement, {"shop": shop.pk})


def foreign_keys_check(first_ids: dict[str, int]) -> int:
    """Every foreign key of the rows written (ids from `first_ids` on) points at a row: one anti-join per key.
    Returns how many keys were checked; raises if one points nowhere."""
    checked = 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
            """,
            [list(first_ids)],
        )
        for table, column, target, target_column in cursor.fetchall():
            cursor.execute(
                f"SELECT count(*) FROM {table} x WHERE x.id >= %s AND x.{column} IS NOT NULL"
                f" AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{target_column} = x.{column})",
                [first_ids[table]],
            )
            (dangling,) = cursor.fetchone()
            if dangling:
                raise RuntimeError(f"{dangling} rows of {table}.{column} point at no {target} row")
            checked += 1
    return checked


def generate_year(
    *, shop_code: str = "bench-year", orders: int = 1_000_000, tickets: int = 100_000, seed: int = 1,
    end: datetime | None = None, log=lambda message: None,
) -> Result:  # fmt: skip
    """Replace the shop's rows with a generated year; returns the rows written per table and the time it took."""
    started = time.perf_counter()
    outer_log = log

    def log(message):
        outer_log(f"[{time.perf_counter() - started:6.1f} s] {message}")

    end = (end or default_end()).astimezone(UTC)
    shop, people = prepare_shop(shop_code=shop_code, seed=seed)
    with transaction.atomic(), triggers_off():
        # Children first, all of them: the foreign-key triggers would have nothing left to check.
        shop_rows_delete(shop.pk)
    log("previous rows removed")
    log(f"generating {orders} orders, {tickets} tickets for {shop_code}, seed {seed}, until {end:%Y-%m-%d %H:%M}Z")
    generator = YearGenerator(shop=shop, orders=orders, tickets=tickets, seed=seed, end=end, people=people, log=log)
    with transaction.atomic():
        with triggers_off() as without_triggers, connection.cursor() as cursor:
            counts = generator.run()
            log(f"  {sum(counts.values())} rows copied")
            cursor.execute(SCANS_SQL, {"shop": shop.pk})
            counts["logistics_trackingevent"] = cursor.rowcount
            log(f"  {cursor.rowcount} tracking scans written")
            if without_triggers:
                log(f"  {foreign_keys_check(generator.sink.first_ids)} foreign keys checked")
        with connection.cursor() as cursor:
            # What the refund trigger keeps, set-based; order_refunded_within_paid refuses any order refunded above
            # what was paid (check constraints hold whatever the triggers).
            cursor.execute(REFUNDED_SQL, {"shop": shop.pk})
    log("committed")
    # Statistics for the planner, and (outside a transaction) the visibility map for index-only scans: the
    # benchmarks that follow must not depend on someone running VACUUM ANALYZE by hand.
    analyse = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in [*TABLES, "logistics_trackingevent"]:
            cursor.execute(f"{analyse} {table}")
    log(f"  {analyse} of {len(TABLES) + 1} tables")
    return Result(shop=shop, counts=counts, seconds=time.perf_counter() - started, end=end, people=people)


def fingerprint(shop_id: int) -> dict[str, str]:
    """An MD5 per table of the shop's generated rows without their ids (and keys made of ids): equal for two runs
    with the same seed and end."""
    skipped = {"idempotency_key", "gateway_reference"}
    scopes = {
        "aftersales_orderline": "order_id IN (SELECT id FROM aftersales_order WHERE shop_id = %(shop)s)",
        "aftersales_ticketevent": _BY_TICKET,
        "logistics_logisticsevent": "at IS NOT NULL AND (" + _BY_SHIPMENT + " OR claim_id IN (SELECT id FROM"
        " logistics_courierclaim WHERE shop_id = %(shop)s) OR intercept_id IN (SELECT id FROM"
        " logistics_interceptrequest WHERE shop_id = %(shop)s))",
        "logistics_robotmessage": "intercept_id IN"
        " (SELECT id FROM logistics_interceptrequest WHERE shop_id = %(shop)s)",
        "logistics_trackingevent": _BY_SHIPMENT,
        "warehouse_inspection": "parcel_id IN (SELECT id FROM warehouse_returnparcel WHERE shop_id = %(shop)s)",
        "warehouse_inspectionline": _BY_INSPECTION,
        "warehouse_evidence": _BY_INSPECTION,
    }
    columns_of = {**TABLES, "logistics_trackingevent": [
        "courier_code", "tracking_number", "scanned_at", "status", "text", "location", "source", "received_at",
    ]}  # fmt: skip
    result = {}
    with connection.cursor() as cursor:
        for table, columns in columns_of.items():
            kept = [c for c in columns if c != "id" and not c.endswith("_id") and c not in skipped]
            where = scopes.get(table, "shop_id = %(shop)s")
            row = " || '|' || ".join(f"coalesce({column}::text, '')" for column in kept)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, '#' ORDER BY r), '')) FROM"
                f" (SELECT {row} AS r FROM {table} WHERE {where}) rows",
                {"shop": shop_id},
            )
            count, digest = cursor.fetchone()
            result[table] = f"{count}:{digest}"
    return result
