"""Golden tests for the metrics of DESIGN §5: a small hand-built data set per metric, the figure worked out by hand in
the docstring, and the rules that are easy to get wrong pinned on their own.

The window is November 2026 (China time); the shop is one Tmall shop. Rows are written directly, with the times
the story needs, so the figures do not depend on when the test runs.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftersales.models import AfterSalesTicket, Order, Refund, ReturnReason, TicketEvent
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


def test_dispute_and_platform_help_rates(shop, agent):
    """20 orders paid. Ruled for the buyer in November on a merchant-liable ticket: 1 → 纠纷率 1/20 = 0.05.
    平台求助率: that order plus one taken to the platform and ruled for the merchant → 2/20 = 0.10."""
    orders = paid_orders(shop, 20)
    ticket(
        shop,
        opened=at(11),
        first="quality_defect",
        of=orders[0],
        events=[("platform_review", at(12)), ("ruled_for_buyer", at(14))],
    )
    ticket(shop, opened=at(11), of=orders[1], events=[("platform_review", at(12)), ("ruled_for_merchant", at(15))])

    assert figure("dispute_rate", shop).value == Decimal("0.0500")
    assert figure("platform_help_rate", shop).value == Decimal("0.1000")


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
