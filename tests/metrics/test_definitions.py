"""Golden tests for the metrics of DESIGN §5: a small hand-built data set per metric, the figure worked out by hand in
the docstring, and the rules that are easy to get wrong pinned on their own.

The window is November 2026 (China time); the shop is one Tmall shop. Rows are written directly, with the times
the story needs, so the figures do not depend on when the test runs.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftersales.models import AfterSalesTicket, Complaint, Order, PlatformRuling, Refund, ReturnReason, TicketEvent
from aftersales.selectors import system_user
from metrics.definitions import METRICS, METRICS_BY_CODE, Scope
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=CHINA)
END = datetime(2026, 12, 1, tzinfo=CHINA)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def figure(code: str, shop, start=START, end=END):
    return METRICS_BY_CODE[code](Scope((shop.pk,), start, end))


def order(shop, *, paid: datetime, shipped=None, delivered=None, amount="100.00", buyer="买家A") -> Order:
    return OrderFactory(
        shop=shop,
        paid_at=paid,
        shipped_at=shipped,
        delivered_at=delivered,
        paid_amount=Decimal(amount),
        buyer_nick=buyer,
    )


def ticket(
    shop,
    *,
    opened: datetime,
    kind: str = "refund_only",
    path: int = 3,
    first: str = "changed_mind",
    last: str | None = None,
    state: str = "requested",
    closed: datetime | None = None,
    of: Order | None = None,
    events=(),
    **fields,
) -> AfterSalesTicket:
    """A ticket as the story has it: `events` are (action, time[, actor]) written as the desk would have."""
    of = of or order(shop, paid=opened - timedelta(days=3), shipped=opened - timedelta(days=2))
    first_reason = ReturnReason.objects.get(code=first)
    created = AfterSalesTicket.objects.create(
        shop=shop,
        order=of,
        kind=kind,
        path=path,
        first_reason=first_reason,
        reason=ReturnReason.objects.get(code=last) if last else first_reason,
        liability=first_reason.default_liability,
        opened_at=opened,
        deadline=opened + timedelta(hours=48),
        sla_due=opened + timedelta(hours=24),
        closed_at=closed,
        **fields,
    )
    AfterSalesTicket.objects.filter(pk=created.pk).update(state=state)
    system = system_user()
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=created, actor=event[2] if len(event) > 2 else system, action=event[0], at=event[1])
        for event in events
    )
    return created


def paid_refund(t: AfterSalesTicket, *, executed: datetime, amount: str = "100.00", kind: str = "full") -> Refund:
    return Refund.objects.create(
        ticket=t,
        order=t.order,
        shop=t.shop,
        kind=kind,
        amount=Decimal(amount),
        idempotency_key=f"golden-{t.pk}-{kind}",
        requested_by=system_user(),
        status=Refund.Status.SUCCEEDED,
        sent_at=executed,
        confirmed_at=executed,
    )


def paid_orders(shop, count: int, *, day: int = 10) -> list[Order]:
    return [order(shop, paid=at(day), buyer=f"买家{i}") for i in range(count)]


# --- every metric has its definition --------------------------------------------------------------------------------


def test_every_metric_states_what_it_counts_over_what():
    for metric in METRICS:
        assert str(metric.name), metric.code
        assert str(metric.numerator), metric.code
        assert str(metric.denominator), metric.code
        assert metric.unit in {"rate", "hours", "money", "seconds", "points"}


def test_an_empty_window_is_no_data_never_zero(shop):
    for metric in METRICS:
        result = metric(Scope((shop.pk,), START, END))
        assert result.value is None, metric.code
        assert result.denominator == 0


# --- times ------------------------------------------------------------------------------------------------------------


def test_refund_only_merchant_time(shop, agent):
    """Two refund-only tickets decided in November: 2 h (agreed) and 5 h (refused) → (2 + 5) / 2 = 3.50 h.
    A third decided in December is outside; a return ticket is another metric's."""
    ticket(shop, opened=at(3, 9), events=[("refund_approved", at(3, 11), agent)])
    ticket(shop, opened=at(4, 20), events=[("rejected", at(5, 1), agent)])
    ticket(shop, opened=at(30, 23), events=[("refund_approved", at(1, 9, month=12), agent)])
    ticket(shop, opened=at(6, 9), kind="return_refund", events=[("return_agreed", at(6, 19), agent)])

    result = figure("refund_only_merchant_time", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("3.50"), Decimal("7.00"), 2)


def test_return_merchant_time_adds_the_two_waiting_periods_and_not_the_buyers(shop, agent):
    """Applied 1 Nov 10:00, return agreed 12:00 (2 h); the buyer's parcel travels 3 days (not counted); signed for
    5 Nov 10:00, refund confirmed 16:00 (6 h). An exchange: 1 h + 3 h. → (8 + 4) / 2 = 6.00 h."""
    ticket(
        shop,
        opened=at(1, 10),
        kind="return_refund",
        events=[
            ("return_agreed", at(1, 12), agent),
            ("return_shipped", at(2, 10)),
            ("return_received", at(5, 10)),
            ("inspection_passed", at(5, 16)),
        ],
    )
    ticket(
        shop,
        opened=at(7, 10),
        kind="exchange",
        events=[
            ("return_agreed", at(7, 11), agent),
            ("return_received", at(9, 10)),
            ("resolved_exchange", at(9, 13), agent),
        ],
    )

    result = figure("return_merchant_time", shop)

    assert (result.value, result.denominator) == (Decimal("6.00"), 2)


def test_refund_completion_time(shop):
    """Refunded tickets completed in November: 10 h and 38 h → 24.00 h; an open one does not count."""
    ticket(shop, opened=at(2, 8), state="refunded", closed=at(2, 18))
    ticket(shop, opened=at(3, 8), state="refunded", closed=at(4, 22))
    ticket(shop, opened=at(5, 8))

    assert figure("refund_completion_time", shop).value == Decimal("24.00")


def test_an_application_at_night_counts_from_eight_in_the_morning(shop, agent):
    """Douyin 售后平均审核时长: applied 23:30, agreed 09:00 next day → 1 h (from 08:00), not 9.5 h; applied 02:00 and
    agreed 07:00 → 0 h (before the clock started); applied 14:00, agreed 16:00 → 2 h. Mean (1 + 0 + 2) / 3 = 1.00 h."""
    night = ticket(shop, opened=at(3, 23, 30), state="refunded", events=[("refund_approved", at(4, 9), agent)])
    early = ticket(shop, opened=at(5, 2), state="refunded", events=[("refund_approved", at(5, 7), agent)])
    day = ticket(shop, opened=at(6, 14), state="refunded", events=[("refund_approved", at(6, 16), agent)])
    for t in (night, early, day):
        paid_refund(t, executed=t.opened_at + timedelta(days=1))

    result = figure("merchant_review_time", shop)

    assert (result.value, result.denominator) == (Decimal("1.00"), 3)


def test_first_response_time_ignores_the_systems_own_moves(shop, agent):
    """The system's note at 10:01 is not a response; the agent's at 10:30 is → 0.50 h."""
    ticket(shop, opened=at(3, 10), events=[("flagged", at(3, 10, 1)), ("note", at(3, 10, 30), agent)])

    assert figure("first_response_time", shop).value == Decimal("0.50")


def test_delivery_time(shop):
    """Picked up → signed: 30 h and 42 h → 36.00 h."""
    order(shop, paid=at(1, 8), shipped=at(1, 10), delivered=at(2, 16))
    order(shop, paid=at(1, 8), shipped=at(1, 10), delivered=at(3, 4))

    assert figure("delivery_time", shop).value == Decimal("36.00")


def test_an_order_whose_24_hours_are_not_over_is_not_yet_due(shop):
    order(shop, paid=at(30, 12))

    assert figure("pickup_24h_rate", shop).value is None


# --- rates ------------------------------------------------------------------------------------------------------------


def test_quality_refund_rate_uses_the_last_reason_and_experience_rate_the_first(shop):
    """10 orders paid in November. Ticket A: first 商品质量问题, changed to 个人原因, refunded.
    Ticket B: first 个人原因, changed to 商品质量问题, refunded.
    品质退款率 (last reason) = 1/10 (B); 商品体验退款率 (first reason) = 1/10 (A)."""
    orders = paid_orders(shop, 10)
    a = ticket(shop, opened=at(12), first="quality_defect", last="changed_mind", of=orders[0], state="refunded")
    b = ticket(shop, opened=at(12), first="changed_mind", last="quality_defect", of=orders[1], state="refunded")
    paid_refund(a, executed=at(13))
    paid_refund(b, executed=at(13))

    quality = figure("quality_refund_rate", shop)
    experience = figure("experience_refund_rate", shop)

    assert (quality.value, quality.numerator, quality.denominator) == (Decimal("0.1000"), 1, 10)
    assert (experience.value, experience.numerator) == (Decimal("0.1000"), 1)
    assert Refund.objects.get(ticket=b).order_id == orders[1].pk  # B is the one quality counts


def test_quality_return_rate_counts_delivered_orders_by_the_first_reason(shop):
    """4 orders delivered in November; one has a ticket whose first reason is 商品与描述不符 (later changed);
    one has a non-quality ticket → 1/4 = 0.25."""
    delivered = [order(shop, paid=at(1), shipped=at(2), delivered=at(4)) for _ in range(4)]
    ticket(shop, opened=at(6), first="not_as_described", last="changed_mind", of=delivered[0], kind="return_refund")
    ticket(shop, opened=at(6), first="changed_mind", of=delivered[1], kind="return_refund")

    assert figure("quality_return_rate", shop).value == Decimal("0.2500")


def test_rejection_rate_leaves_out_what_the_platforms_leave_out(shop, agent):
    """Finished post-shipment tickets in November:
    1 rejected and closed (counts, rejected); 2 refunded (counts); 1 withdrawn before the merchant acted (not valid);
    1 withdrawn after the merchant agreed a return (valid, not rejected); 1 opened late by the platform, rejected and
    closed without arbitration (not valid); 1 opened late, taken to the platform and ruled for the merchant (valid,
    rejected); 1 path-1 ticket rejected (not post-shipment). → rejected 2 / valid 5 = 0.4."""
    ticket(shop, opened=at(2), state="closed", closed=at(5), events=[("rejected", at(3), agent)])
    for day in (6, 7):
        ticket(shop, opened=at(day), state="refunded", closed=at(day + 1), events=[("refund_approved", at(day), agent)])
    ticket(shop, opened=at(10), state="cancelled", closed=at(10, 12))
    ticket(
        shop,
        opened=at(11),
        kind="return_refund",
        state="cancelled",
        closed=at(14),
        events=[("return_agreed", at(11, 12), agent)],
    )
    ticket(
        shop,
        opened=at(12),
        state="closed",
        closed=at(15),
        platform_opened_late=True,
        events=[("rejected", at(12, 15), agent)],
    )
    ticket(
        shop,
        opened=at(13),
        state="closed",
        closed=at(20),
        platform_opened_late=True,
        events=[("rejected", at(13, 15), agent), ("platform_review", at(14)), ("ruled_for_merchant", at(20))],
    )
    ticket(shop, opened=at(16), path=1, state="closed", closed=at(17), events=[("rejected", at(16, 11), agent)])

    result = figure("rejection_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.4000"), 2, 5)


def ruling(t: AfterSalesTicket, *, day: int, for_buyer: bool = True, liability: str = "unknown", month: int = 11):
    """The platform's ruling on `t`, recorded on `day` of `month` (what ticket_platform_ruling stores)."""
    return PlatformRuling.objects.create(
        ticket=t,
        for_buyer=for_buyer,
        liability=liability,
        case_number=f"CASE-{t.pk}",
        evidence="平台判定截图",
        recorded_by=system_user(),
        recorded_at=at(day, month=month),
    )


def complaint(o: Order, *, day: int, liability: str = "unknown", month: int = 11) -> Complaint:
    return Complaint.objects.create(
        shop=o.shop, order=o, opened_at=at(day, month=month), liability=liability, recorded_by=system_user()
    )


def test_dispute_rate_counts_rulings_against_the_merchant_with_the_merchant_liable(shop, agent):
    """纠纷率 (seed 003) = disputes ruled against the merchant as liable ÷ orders paid, November. 20 orders paid.
    Rulings recorded in November:
      o0 for the buyer, held the merchant's liability               → counts
      o1 for the buyer, not the merchant's liability (the courier)  → not counted (before: counted, liability ignored)
      o2 for the buyer, not said, on a merchant-liable ticket        → counts (the ticket's liability decides)
      o3 for the buyer, not said, on a buyer-liable ticket (changed mind) → not counted
      o4 for the merchant                                            → not counted
      o5 for the buyer, merchant liable, recorded 31 October         → not in the window
    → 2 / 20 = 0.1000."""
    orders = paid_orders(shop, 20)
    ruling(ticket(shop, opened=at(11), first="quality_defect", of=orders[0]), day=14, liability="merchant")
    ruling(ticket(shop, opened=at(11), first="quality_defect", of=orders[1]), day=14, liability="not_merchant")
    ruling(ticket(shop, opened=at(11), first="quality_defect", of=orders[2]), day=15)
    ruling(ticket(shop, opened=at(11), first="changed_mind", of=orders[3]), day=15)
    ruling(ticket(shop, opened=at(11), of=orders[4]), day=16, for_buyer=False, liability="merchant")
    early = ticket(shop, opened=at(20, month=10), first="quality_defect", of=order(shop, paid=at(18, month=10)))
    ruling(early, day=31, month=10, liability="merchant")

    result = figure("dispute_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.1000"), 2, 20)


def test_platform_help_rate_counts_paid_orders_with_a_complaint_or_a_merchant_liable_dispute(shop, agent):
    """平台求助率 (seed 004) = orders paid in November with a complaint or a dispute ruled against the merchant as
    liable (whenever it came) ÷ orders paid in November. 20 orders paid on 10 November:
      o0 ticket taken to the platform and ruled for the buyer, merchant liable → counts
      o1 ticket taken to the platform and ruled for the merchant (the merchant won) → not counted
         (before: every platform review counted → 2/20 = 0.1000, which the old golden test pinned)
      o2 taken to the platform, not yet ruled → not counted (a request for help is not a dispute lost)
    → 1 / 20 = 0.0500.
    Then complaints: o3 complained on 12 November (liability not known) → counts; o4 twice → counts once;
    o0 also complained → still one order; an order paid 31 October with a complaint in November → not paid in the
    window → (1 + 2) / 20 = 0.1500. A ruling made on 3 December about o5 (paid in November) still counts for
    November: the window is of payments → 4 / 20 = 0.2000."""
    orders = paid_orders(shop, 20)
    won = ticket(shop, opened=at(11), first="quality_defect", of=orders[0], events=[("platform_review", at(12))])
    ruling(won, day=14, liability="merchant")
    lost = ticket(shop, opened=at(11), of=orders[1], events=[("platform_review", at(12))])
    ruling(lost, day=15, for_buyer=False)
    ticket(shop, opened=at(11), of=orders[2], events=[("platform_review", at(12))])

    result = figure("platform_help_rate", shop)
    assert (result.value, result.numerator, result.denominator) == (Decimal("0.0500"), 1, 20)

    complaint(orders[3], day=12)
    complaint(orders[4], day=12, liability="merchant")
    complaint(orders[4], day=13, liability="not_merchant")
    complaint(orders[0], day=16)
    complaint(order(shop, paid=at(31, month=10)), day=2)
    assert figure("platform_help_rate", shop).value == Decimal("0.1500")

    late = ticket(shop, opened=at(25), first="quality_defect", of=orders[5])
    ruling(late, day=3, month=12, liability="merchant")
    assert figure("platform_help_rate", shop).value == Decimal("0.2000")


def test_rejection_rate_is_per_order_by_the_last_valid_result(shop, agent):
    """售后拒绝率 (seed 004) = orders whose last valid post-shipment after-sales, finished in November, ended in a
    rejection ÷ orders whose last valid post-shipment after-sales finished in November.
      A rejected (3rd), taken to the platform (4th), overturned: ruled for the buyer and refunded (9th) → valid,
        rejected (the seed: 由平台退款后会计入 … 拒绝率; before: refunded, not a rejection)
      B rejected on the 5th and left so: no one closed it → finished at the rejection, rejected (before: not
        finished, not counted)
      C first ticket rejected and closed (2nd–3rd), second ticket refunded (6th–7th) → the order counts once, by its
        last after-sales: not rejected (before: two tickets, one rejected)
      D opened by the platform after the after-sales period, rejected and closed (12th) without arbitration, but a
        quality defect, the merchant's liability → valid, rejected (before: left out)
      E the same with a changed-mind reason (the buyer's liability) → not valid (both)
      F refunded (15th–16th) → valid, not rejected
      G rejected on 28 October and left so → finished before November, not counted
      H first ticket rejected and closed on the 10th, a second one still open → the order's after-sales is not
        finished, not counted (before: the closed rejection counted)
    → rejected A, B, D of A, B, C, D, F: 3 / 5 = 0.6000 (the old per-ticket rule gave 2 / 5 = 0.4000)."""
    rejected = ("rejected", at(3), agent)
    ticket(
        shop,
        opened=at(2),
        state="refunded",
        closed=at(9),
        first="quality_defect",
        events=[rejected, ("platform_review", at(4)), ("ruled_for_buyer", at(8))],
    )
    ticket(shop, opened=at(4), state="rejected", events=[("rejected", at(5), agent)])
    c = order(shop, paid=at(1, month=10), shipped=at(2, month=10))
    ticket(shop, opened=at(2), of=c, state="closed", closed=at(3), events=[("rejected", at(2, 12), agent)])
    ticket(shop, opened=at(6), of=c, state="refunded", closed=at(7), events=[("refund_approved", at(6, 12), agent)])
    for first in ("quality_defect", "changed_mind"):
        ticket(
            shop,
            opened=at(11),
            first=first,
            state="closed",
            closed=at(12),
            platform_opened_late=True,
            events=[("rejected", at(11, 12), agent)],
        )
    ticket(shop, opened=at(15), state="refunded", closed=at(16), events=[("refund_approved", at(15, 12), agent)])
    ticket(shop, opened=at(27, month=10), state="rejected", events=[("rejected", at(28, month=10), agent)])
    h = order(shop, paid=at(1, month=10), shipped=at(2, month=10))
    ticket(shop, opened=at(9), of=h, state="closed", closed=at(10), events=[("rejected", at(9, 12), agent)])
    ticket(shop, opened=at(20), of=h)

    result = figure("rejection_rate", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("0.6000"), 3, 5)


def test_return_refund_rate(shop):
    """8 orders paid; 2 return-and-refund tickets and 1 refund-only opened → 2/8 = 0.25."""
    orders = paid_orders(shop, 8)
    ticket(shop, opened=at(12), kind="return_refund", of=orders[0])
    ticket(shop, opened=at(12), kind="return_refund", of=orders[1])
    ticket(shop, opened=at(12), of=orders[2])

    assert figure("return_refund_rate", shop).value == Decimal("0.2500")


def test_compensation_per_case(shop):
    """4 tickets handled in November; compensations of ¥10 and ¥20 paid (a full refund is not one) → ¥7.50."""
    handled = [ticket(shop, opened=at(3), state="refunded", closed=at(4)) for _ in range(4)]
    paid_refund(handled[0], executed=at(4), amount="10.00", kind="compensation")
    paid_refund(handled[1], executed=at(4), amount="20.00", kind="compensation")
    paid_refund(handled[2], executed=at(4), amount="100.00", kind="full")

    result = figure("compensation_per_case", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("7.50"), Decimal("30.00"), 4)


def test_a_refund_counts_when_the_marketplace_confirmed_it_not_when_it_was_sent(shop):
    """Compensations of ¥10 sent in October and confirmed in November, of ¥20 sent in November and confirmed only in
    December, of ¥40 sent and never confirmed: November paid ¥10 over its 2 handled tickets → ¥5.00."""
    handled = [ticket(shop, opened=at(3), state="refunded", closed=at(4)) for _ in range(2)]
    early = paid_refund(handled[0], executed=at(4), amount="10.00", kind="compensation")
    late = paid_refund(handled[1], executed=at(4), amount="20.00", kind="compensation")
    Refund.objects.filter(pk=early.pk).update(sent_at=at(28, month=10))
    Refund.objects.filter(pk=late.pk).update(confirmed_at=at(2, month=12))
    unconfirmed = ticket(shop, opened=at(3), state="refunding")
    Refund.objects.create(
        ticket=unconfirmed,
        order=unconfirmed.order,
        shop=shop,
        kind="compensation",
        amount=Decimal("40.00"),
        idempotency_key="golden-unconfirmed",
        requested_by=system_user(),
        status=Refund.Status.SENT,
        sent_at=at(4),
    )

    result = figure("compensation_per_case", shop)

    assert (result.value, result.numerator, result.denominator) == (Decimal("5.00"), Decimal("10.00"), 2)


def test_repurchase_rate_counts_later_orders_of_handled_buyers(shop):
    """Two tickets handled; 买家A ordered again after hers closed, 买家B only before → 1/2."""
    a = ticket(shop, opened=at(3), state="refunded", closed=at(4), of=order(shop, paid=at(1), buyer="买家A"))
    ticket(shop, opened=at(3), state="refunded", closed=at(4), of=order(shop, paid=at(1), buyer="买家B"))
    order(shop, paid=at(2), buyer="买家B")
    order(shop, paid=at(20), buyer="买家A")

    assert figure("repurchase_rate", shop).value == Decimal("0.5000")
    assert a.order.buyer_nick == "买家A"


def test_figures_are_per_shop(shop):
    """Another shop's orders and tickets never enter this shop's figure."""
    other = ShopFactory()
    paid_orders(other, 5)
    ticket(other, opened=at(12), kind="return_refund")
    paid_orders(shop, 4)

    assert figure("return_refund_rate", shop).value == Decimal("0.0000")
    assert figure("return_refund_rate", other).value == Decimal("0.1667")  # 1 / (5 + the ticket's own order)
