"""Golden tests for the formulas seeds 003 and 004 define, word for word (issue 21, points 6–13): each data set is
small and built by hand, with the figure worked out in the docstring, and covers the case the earlier formula got
wrong (its figure is given too) and the boundaries.

The window is November 2026 (China time), as in test_definitions.py, whose helpers these tests share.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from aftersales.models import Refund
from logistics.models import Courier, Shipment, TrackingEvent
from metrics.definitions import Scope
from metrics.models import ChatSession, ProductReview
from metrics.platform_data import plan_platform_import, platform_import_apply, read_platform_rows
from metrics.selectors import agent_table
from tests.metrics.test_definitions import END, START, agent, at, figure, order, paid_orders, paid_refund, shop, ticket
from warehouse.models import ReturnParcel

pytestmark = pytest.mark.django_db
__all__ = ["agent", "shop"]  # fixtures


def _refund(t, *, kind: str, amount: str, by) -> Refund:
    refund = paid_refund(t, executed=at(4), amount=amount, kind=kind)
    Refund.objects.filter(pk=refund.pk).update(requested_by=by)
    return refund


# --- 6. 赔偿单价 (seed 003) ------------------------------------------------------------------------------------------


def test_compensation_counts_partial_refunds_given_as_compensation(shop, agent):
    """赔偿单价 = 赔偿金额 / 处理的问题数. Four tickets handled in November, each decided by the agent:
    A, received and kept (path 3): a partial refund of ¥5 for a gift watch that does not run (the seed's case): counts;
    B, a compensation request: ¥20 of the compensation kind: counts;
    C, a return (path 4): a partial refund of ¥30 for what came back: a refund, not compensation;
    D, not shipped (path 1): a partial refund of ¥40 for the item never sent: a refund, not compensation.
    → (5 + 20) / 4 = ¥6.25 (the compensation kind alone gave ¥20 / 4 = ¥5.00). The per-agent table uses the same rule:
    ¥25.00 paid, ¥6.25 per case."""
    decided = [("refund_approved", at(3, 11), agent)]
    a = ticket(shop, opened=at(3), path=3, state="refunded", closed=at(4), events=decided)
    b = ticket(shop, opened=at(3), path=3, kind="compensation", state="refunded", closed=at(4), events=decided)
    c = ticket(shop, opened=at(3), path=4, kind="return_refund", state="refunded", closed=at(4), events=decided)
    d = ticket(shop, opened=at(3), path=1, state="refunded", closed=at(4), events=decided)
    _refund(a, kind="partial", amount="5.00", by=agent)
    _refund(b, kind="compensation", amount="20.00", by=agent)
    _refund(c, kind="partial", amount="30.00", by=agent)
    _refund(d, kind="partial", amount="40.00", by=agent)

    result = figure("compensation_per_case", shop)
    (row,) = agent_table(Scope((shop.pk,), START, END))

    assert (result.value, result.numerator, result.denominator) == (Decimal("6.25"), Decimal("25.00"), 4)
    assert (row.handled, row.compensation, row.compensation_per_case) == (4, Decimal("25.00"), Decimal("6.25"))


# --- 7. 复购率 (seed 003) --------------------------------------------------------------------------------------------


def test_repurchase_rate_counts_the_orders_not_the_buyers(shop, agent):
    """复购率 = 老客户再次购买的单数 / 处理问题件的笔数. Two tickets handled (decided 3 Nov, closed 4 Nov): 买家A then
    paid the shop two orders (20 and 25 Nov), 买家B one only before her ticket (2 Nov); 买家A's order in another shop
    is not this shop's. → 2 orders / 2 tickets = 1.0000 (counting buyers gave 1/2 = 0.5). The per-agent table counts
    the same 2 orders."""
    from tests.factories import ShopFactory

    decided = [("refund_approved", at(3, 11), agent)]
    handled = order(shop, paid=at(1), buyer="买家A")
    ticket(shop, opened=at(3), state="refunded", closed=at(4), of=handled, events=decided)
    handled = order(shop, paid=at(1), buyer="买家B")
    ticket(shop, opened=at(3), state="refunded", closed=at(4), of=handled, events=decided)
    order(shop, paid=at(2), buyer="买家B")
    order(shop, paid=at(20), buyer="买家A")
    order(shop, paid=at(25), buyer="买家A")
    order(ShopFactory(), paid=at(21), buyer="买家A")

    result = figure("repurchase_rate", shop)
    (row,) = agent_table(Scope((shop.pk,), START, END))

    assert (result.value, result.numerator, result.denominator) == (Decimal("1.0000"), 2, 2)
    assert row.repurchases == 2


# --- 8. 退款完结时长 (seed 003) --------------------------------------------------------------------------------------


def test_refund_completion_time_counts_every_finished_after_sales(shop):
    """平均退款完结时间 = 申请退款完结总时长 / 近30天(售中+售后)完结总笔数. Finished in November: refunded after 10 h,
    resolved by a reship after 20 h, withdrawn after 6 h, closed (rejection accepted) after 36 h, and a 售中 refund
    of an unshipped order after 2 h. → (10 + 20 + 6 + 36 + 2) / 5 = 14.80 h (refunded ones alone gave (10 + 2) / 2
    = 6.00 h). An open request and one finished in December do not count."""
    ticket(shop, opened=at(2, 8), state="refunded", closed=at(2, 18))
    ticket(shop, opened=at(3, 8), kind="reship", state="resolved", closed=at(4, 4))
    ticket(shop, opened=at(5, 8), state="cancelled", closed=at(5, 14))
    ticket(shop, opened=at(6, 8), state="closed", closed=at(7, 20))
    ticket(shop, opened=at(8, 8), path=1, state="refunded", closed=at(8, 10))
    ticket(shop, opened=at(9, 8))
    ticket(shop, opened=at(30, 8), state="refunded", closed=at(1, 9, month=12))

    result = figure("refund_completion_time", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("14.80"), Decimal("74.00"), 5)


# --- 9. 售后响应时间 (seed 003) --------------------------------------------------------------------------------------


def _chat(shop, buyer: str, started, seconds: int | None) -> ChatSession:
    return ChatSession.objects.create(
        shop=shop,
        platform_session_id=f"{buyer}-{started:%d%H%M}",
        buyer_nick=buyer,
        started_at=started,
        first_response_seconds=seconds,
    )


def test_first_response_time_reads_the_chat_and_falls_back_to_the_ticket(shop, agent):
    """Four requests opened 3 Nov 10:00:
    买家A chatted at 10:05 and was answered in 360 s (0.10 h); the agent acted on the ticket at 15:00 (5 h): 0.10 h;
    买家B has no chat (her chat on 4 Nov is after the request finished, 3 Nov 14:00): first ticket action 2 h;
    买家C chatted only before applying (09:00): first ticket action 1 h;
    买家D's chat at 10:30 was never answered: first ticket action 3 h.
    Another buyer's chat is no one's reply. → (0.10 + 2 + 1 + 3) / 4 = 1.525 → 1.53 h (ticket actions alone gave
    (5 + 2 + 1 + 3) / 4 = 2.75 h)."""
    for buyer, closed, acted in (
        ("买家A", None, at(3, 15)),
        ("买家B", at(3, 14), at(3, 12)),
        ("买家C", None, at(3, 11)),
        ("买家D", None, at(3, 13)),
    ):
        ticket(
            shop,
            opened=at(3, 10),
            closed=closed,
            of=order(shop, paid=at(1), buyer=buyer),
            events=[("note", acted, agent)],
        )
    _chat(shop, "买家A", at(3, 10, 5), 360)
    _chat(shop, "买家B", at(4, 9), 60)
    _chat(shop, "买家C", at(3, 9), 60)
    _chat(shop, "买家D", at(3, 10, 30), None)
    _chat(shop, "买家E", at(3, 10, 1), 5)

    result = figure("first_response_time", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("1.53"), Decimal("6.10"), 4)


# --- 10. 品质退款率 (seed 003) ---------------------------------------------------------------------------------------


def test_quality_refund_rate_counts_a_withdrawn_quality_request_applied_for_again(shop):
    """10 orders paid in November.
    O0: 商品质量问题 withdrawn (5 Nov), applied for again as 个人原因 (6 Nov) and refunded: counts ("撤销的话是算的");
    O1: 商品质量问题 changed to 个人原因 on the same request, refunded: escapes (the reason was changed);
    O2: 商品质量问题 withdrawn and never applied for again: no refund, not counted;
    O3: 个人原因 refunded (6 Nov); a quality request opened later (20 Nov) and withdrawn is not the one re-applied for.
    → 1 / 10 = 0.1000 (the last reason of the refunding request alone gave 0 / 10)."""
    orders = paid_orders(shop, 10)
    ticket(shop, opened=at(5), first="quality_defect", of=orders[0], state="cancelled", closed=at(5, 12))
    again = ticket(shop, opened=at(6), first="changed_mind", of=orders[0], state="refunded", closed=at(8))
    changed = ticket(shop, opened=at(6), first="quality_defect", last="changed_mind", of=orders[1], state="refunded")
    ticket(shop, opened=at(5), first="quality_defect", of=orders[2], state="cancelled", closed=at(5, 12))
    plain = ticket(shop, opened=at(6), first="changed_mind", of=orders[3], state="refunded")
    ticket(shop, opened=at(20), first="quality_defect", of=orders[3], state="cancelled", closed=at(20, 12))
    for t in (again, changed, plain):
        paid_refund(t, executed=at(8))

    result = figure("quality_refund_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.1000"), 1, 10)


# --- 11. 退货退款自主完结时长 (seed 004) -----------------------------------------------------------------------------


def _parcel(t, *, signed=None) -> ReturnParcel:
    return ReturnParcel.objects.create(shop=t.shop, ticket=t, tracking_number=f"SF{t.pk:010d}", signed_at=signed)


def test_return_merchant_time_starts_the_second_leg_at_the_couriers_signature(shop, agent):
    """【消费者申请退货到商家确认】+【商家退货物流签收到商家确认】.
    R1: applied 1 Nov 10:00, return agreed 12:00 (2 h); the courier signed for it at our address 5 Nov 08:00, the clerk
    scanned it 14:00, the refund was confirmed 16:00: 8 h from the signature (not 2 h from the scan) → 10 h;
    R2, an exchange: applied 7 Nov 10:00, agreed 11:00 (1 h); the replacement went out early (提前换出) 8 Nov 10:00,
    before the return was signed for (9 Nov 09:00): the merchant had confirmed, 0 h → 1 h;
    R3: no courier signature recorded: applied 10 Nov 10:00, agreed 13:00 (3 h), the clerk's scan 12 Nov 10:00 stands
    in for it, confirmed 15:00 (5 h) → 8 h.
    → (10 + 1 + 8) / 3 = 6.33 h (from the clerk's scan and without the early exchange: (4 + 4 + 8) / 3 = 5.33 h)."""
    r1 = ticket(
        shop,
        opened=at(1, 10),
        kind="return_refund",
        path=4,
        events=[
            ("return_agreed", at(1, 12), agent),
            ("return_shipped", at(2, 10)),
            ("return_received", at(5, 14)),
            ("inspection_passed", at(5, 16)),
        ],
    )
    _parcel(r1, signed=at(5, 8))
    r2 = ticket(
        shop,
        opened=at(7, 10),
        kind="exchange",
        path=4,
        events=[
            ("return_agreed", at(7, 11), agent),
            ("early_replacement", at(8, 10), agent),
            ("return_received", at(9, 10)),
            ("resolved_exchange", at(9, 13), agent),
        ],
    )
    _parcel(r2, signed=at(9, 9))
    r3 = ticket(
        shop,
        opened=at(10, 10),
        kind="return_refund",
        path=4,
        events=[
            ("return_agreed", at(10, 13), agent),
            ("return_received", at(12, 10)),
            ("inspection_passed", at(12, 15)),
        ],
    )
    _parcel(r3)

    result = figure("return_merchant_time", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("6.33"), Decimal("19.00"), 3)


# --- 12. 24小时支付-揽收率 (seed 004) --------------------------------------------------------------------------------


def _scans(o, *times) -> None:
    courier = Courier.objects.get_or_create(code="SF", defaults={"name": "顺丰速运"})[0]
    shipment = Shipment.objects.create(
        shop=o.shop, order=o, courier=courier, tracking_number=f"SF{o.pk:010d}", shipped_at=o.shipped_at
    )
    for index, scanned in enumerate(times):
        TrackingEvent.objects.create(
            shipment=shipment,
            courier_code="SF",
            tracking_number=shipment.tracking_number,
            scanned_at=scanned,
            status="collected" if index == 0 else "in_transit",
            source="kuaidi100",
        )


def test_pickup_rate_reads_the_first_pickup_scan_of_in_stock_orders(shop):
    """近30天支揽在24h内的现货订单数 / 近30天应揽收现货订单数.
    P1: paid 3 Nov 10:00, marked shipped 12:00, first courier scan 4 Nov 11:00 (25 h): ✗ (shipped_at said ✓);
    P2: paid 5 Nov 19:00, first scan 6 Nov 18:00 (23 h): ✓;
    P3: paid 7 Nov 20:00, first scan 8 Nov 21:00 (25 h): ✗ (the Douyin 2026 night clock from 06:00 said 15 h ✓);
    P4: paid 11 Nov 10:00, first scan exactly 24 h later: ✓ (the boundary is inside);
    presale, custom-made and no-shipping orders paid in November, never picked up: not counted.
    → 2 / 4 = 0.5000."""
    p1 = order(shop, paid=at(3, 10), shipped=at(3, 12))
    _scans(p1, at(4, 11), at(4, 20))
    _scans(order(shop, paid=at(5, 19), shipped=at(5, 20)), at(6, 18), at(7, 2))
    _scans(order(shop, paid=at(7, 20), shipped=at(7, 21)), at(8, 21))
    _scans(order(shop, paid=at(11, 10), shipped=at(11, 10)), at(12, 10))
    for flags in ({"is_presale": True}, {"is_custom_made": True}, {"needs_shipping": False}):
        o = order(shop, paid=at(13))
        type(o).objects.filter(pk=o.pk).update(**flags)

    result = figure("pickup_24h_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.5000"), 2, 4)


def test_a_replacement_parcel_is_not_the_orders_pickup(shop):
    """The order's own parcel was first scanned 30 h after payment; a replacement sent for a ticket was scanned
    earlier. → 0 / 1."""
    o = order(shop, paid=at(3, 10), shipped=at(3, 12))
    _scans(o, at(4, 16))
    t = ticket(shop, opened=at(3, 11), of=o)
    courier = Courier.objects.get(code="SF")
    replacement = Shipment.objects.create(shop=shop, order=o, ticket=t, courier=courier, tracking_number="SF-R")
    TrackingEvent.objects.create(
        shipment=replacement,
        courier_code="SF",
        tracking_number="SF-R",
        scanned_at=at(3, 20),
        status="collected",
        source="kuaidi100",
    )

    result = figure("pickup_24h_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.0000"), 0, 1)


# --- 13. 发货问题负向反馈率 (seed 004) -------------------------------------------------------------------------------


def test_shipping_negative_feedback_rate_leaves_out_feedback_inside_the_promise(shop):
    """近30天支付中产生发货问题负反馈的订单数 / 近30天支付订单数. 10 orders paid 3 Nov 10:00.
    S1 in stock, no promised time: a 未按约定时间发货 request 6 Nov 10:00 (72 h, past the default 48 h): counts;
    S2 in stock, promised to ship by 10 Nov 10:00: a late-shipping request 8 Nov: inside the promise, not counted;
    S3 in stock, no promised time: a late-shipping request 4 Nov 10:00 (24 h): inside 48 h, not counted;
    S4 in stock, no promised time: a late-shipping request exactly 48 h after payment: counts (the promise is over);
    S5 presale (promised 20 Nov): a late-shipping request 5 Nov 11:00 (49 h after payment): counts;
    S6 presale: a late-shipping request 4 Nov 09:00 (23 h): not counted;
    S7: a 个人原因 request: not shipping feedback.
    → 3 / 10 = 0.3000."""
    orders = [order(shop, paid=at(3, 10), buyer=f"买家{i}") for i in range(10)]
    type(orders[1]).objects.filter(pk=orders[1].pk).update(promised_ship_by=at(10, 10))
    type(orders[4]).objects.filter(pk__in=[orders[4].pk, orders[5].pk]).update(is_presale=True)
    type(orders[4]).objects.filter(pk=orders[4].pk).update(promised_ship_by=at(20, 10))
    for index, opened in ((0, at(6, 10)), (1, at(8)), (2, at(4, 10)), (3, at(5, 10)), (4, at(5, 11)), (5, at(4, 9))):
        ticket(shop, opened=opened, path=1, first="late_shipping", of=orders[index])
    ticket(shop, opened=at(6), path=1, of=orders[6])

    result = figure("shipping_negative_feedback_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.3000"), 3, 10)


def test_no_orders_paid_is_no_shipping_feedback_figure(shop):
    """Late-shipping feedback on an order paid in October is not November's; with no order paid there is no figure."""
    ticket(shop, opened=at(5), path=1, first="late_shipping", of=order(shop, paid=at(28, month=10)))

    result = figure("shipping_negative_feedback_rate", shop)

    assert (result.value, result.denominator) == (None, 0)


def test_the_chat_export_carries_the_buyers_nickname(shop):
    """The 买家昵称 column of a chat export is stored, so the response time can find the buyer's session."""

    content = "会话ID,开始时间,首次响应时长(秒),买家昵称\nS1,2026-11-03 10:05,360,买家A\nS2,2026-11-03 11:00,20,\n"
    plan = plan_platform_import(shop=shop, kind="chats", rows=read_platform_rows(content.encode(), "chats"))
    platform_import_apply(plan)

    assert dict(ChatSession.objects.values_list("platform_session_id", "buyer_nick")) == {"S1": "买家A", "S2": ""}


# --- 15. every code has a definition ----------------------------------------------------------------------------------


def test_every_metric_code_has_its_definition_and_every_definition_its_code():
    from metrics.codes import METRIC_UNITS, MetricCode
    from metrics.definitions import METRICS_BY_CODE

    assert set(MetricCode.values) == set(METRICS_BY_CODE)
    assert set(METRIC_UNITS) == set(MetricCode.values)


def test_arrival_time_runs_from_payment_to_signature(shop):
    """物流到货时长: paid 1 Nov 08:00, signed 3 Nov 08:00 (48 h); paid 2 Nov 08:00, signed 5 Nov 20:00 (84 h)
    → (48 + 84) / 2 = 66.00 h (pickup → signature is another metric, 订单配送时长)."""
    order(shop, paid=at(1, 8), shipped=at(1, 20), delivered=at(3, 8))
    order(shop, paid=at(2, 8), shipped=at(3, 8), delivered=at(5, 20))

    result = figure("arrival_time", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("66.00"), Decimal("132.00"), 2)


def test_pickup_48h_rate(shop):
    """48小时揽收及时率: first scans 30 h ✓, 47 h ✓ and 49 h ✗ after payment; a presale order is not counted;
    → 2 / 3 = 0.6667."""
    for hours in (30, 47, 49):
        _scans(order(shop, paid=at(3, 10), shipped=at(3, 11)), at(3, 10) + timedelta(hours=hours))
    presale = order(shop, paid=at(3, 10))
    type(presale).objects.filter(pk=presale.pk).update(is_presale=True)

    result = figure("pickup_48h_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.6667"), 2, 3)


def _review(shop, order_id: str, rating: int, day: int = 10, month: int = 11) -> ProductReview:
    return ProductReview.objects.create(
        shop=shop,
        platform_order_id=order_id,
        reviewed_at=at(day, month=month),
        rating=rating,
        first_reviewed_at=at(day, month=month),
        first_rating=rating,
    )


def test_positive_review_rate(shop):
    """商品好评率: reviews of 5, 4, 3 and 1 stars in November (and a 5 in October) → 2 / 4 = 0.5000."""
    for index, rating in enumerate((5, 4, 3, 1)):
        _review(shop, f"R{index}", rating)
    _review(shop, "OLD", 5, day=20, month=10)

    result = figure("positive_review_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.5000"), 2, 4)


def test_chat_3min_response_rate_and_satisfaction(shop):
    """旺旺3分钟人工响应率, sessions 08:00–22:59: answered in 180 s ✓ (the boundary), 181 s ✗, never ✗; one at 23:10 is
    not counted → 1 / 3 = 0.3333. 旺旺满意度: rated 5, 4 and 2 (one unrated) → 2 / 3 = 0.6667."""
    for index, (started, seconds, rating) in enumerate(
        ((at(3, 8), 180, 5), (at(3, 12), 181, 4), (at(3, 22, 59), None, 2), (at(3, 23, 10), 5, None))
    ):
        ChatSession.objects.create(
            shop=shop,
            platform_session_id=f"S{index}",
            started_at=started,
            first_response_seconds=seconds,
            rating=rating,
        )

    fast = figure("chat_3min_response_rate", shop)
    happy = figure("chat_satisfaction_rate", shop)

    assert (fast.value, fast.numerator, fast.denominator) == (Decimal("0.3333"), 1, 3)
    assert (happy.value, happy.numerator, happy.denominator) == (Decimal("0.6667"), 2, 3)


def test_refund_handling_time(shop, agent):
    """退款处理时长: refunded requests completed in November, decided 2 h and 6 h after application → 4.00 h; a
    withdrawn one is not a refund."""
    ticket(shop, opened=at(3, 8), state="refunded", closed=at(4), events=[("refund_approved", at(3, 10), agent)])
    ticket(shop, opened=at(5, 8), state="refunded", closed=at(6), events=[("rejected", at(5, 14), agent)])
    ticket(shop, opened=at(7, 8), state="cancelled", closed=at(8), events=[("return_agreed", at(7, 9), agent)])

    result = figure("refund_handling_time", shop)

    assert (result.value, result.denominator) == (Decimal("4.00"), 2)


def test_dispute_refund_rate_counts_every_ruling_for_the_buyer(shop):
    """纠纷退款率: 10 orders paid; rulings for the buyer on a merchant-liable and a courier-liable request, one for the
    merchant → 2 / 10 = 0.2000."""
    orders = paid_orders(shop, 10)
    ticket(shop, opened=at(11), first="quality_defect", of=orders[0], events=[("ruled_for_buyer", at(14))])
    ticket(shop, opened=at(11), first="lost_parcel", of=orders[1], events=[("ruled_for_buyer", at(14))])
    ticket(shop, opened=at(11), of=orders[2], events=[("ruled_for_merchant", at(14))])

    result = figure("dispute_refund_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.2000"), 2, 10)


def test_negative_feedback_rate_counts_a_quality_first_reason_or_a_bad_review(shop):
    """商品负反馈率: 5 orders signed for in November: a first-reason quality request (later changed), a 2★ review, both
    on one order, a 3★ review and nothing → 2 / 5 = 0.4000 (the order with both counts once)."""
    signed = [order(shop, paid=at(1), shipped=at(2), delivered=at(4)) for _ in range(5)]
    ticket(shop, opened=at(6), first="quality_defect", last="changed_mind", of=signed[0])
    _review(shop, signed[1].platform_order_id, 2)
    ticket(shop, opened=at(6), first="not_as_described", of=signed[1])
    _review(shop, signed[2].platform_order_id, 3)

    result = figure("negative_feedback_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.4000"), 2, 5)


def test_logistics_quality_return_rate(shop):
    """发货物流品退率: 10 orders paid; first reasons lost parcel, quality defect and late shipping count, changed mind
    does not → 3 / 10 = 0.3000."""
    orders = paid_orders(shop, 10)
    for index, reason in enumerate(("lost_parcel", "quality_defect", "late_shipping", "changed_mind")):
        ticket(shop, opened=at(12), first=reason, of=orders[index])

    result = figure("logistics_quality_return_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.3000"), 3, 10)


def test_the_platform_help_rates_of_tmall_and_douyin_2026(shop):
    """10 orders paid in November; 4 have a request opened in November, 1 of them taken to the platform.
    Tmall (÷ paid orders) → 1 / 10 = 0.1000;
    Douyin 2026 (÷ orders where the buyer asked the seller) → 1 / 4 = 0.2500."""
    orders = paid_orders(shop, 10)
    ticket(shop, opened=at(12), of=orders[0], events=[("platform_review", at(13)), ("ruled_for_merchant", at(15))])
    for index in (1, 2, 3):
        ticket(shop, opened=at(12), of=orders[index])

    tmall = figure("platform_contact_rate", shop)
    douyin = figure("help_escalation_rate", shop)

    assert (tmall.value, tmall.numerator, tmall.denominator) == (Decimal("0.1000"), 1, 10)
    assert (douyin.value, douyin.numerator, douyin.denominator) == (Decimal("0.2500"), 1, 4)
