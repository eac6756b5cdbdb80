"""The metrics of DESIGN §5, each defined once: what is counted, over what, in which window, what is excluded and
which reason counts (the buyer's first, or the last). Each is computed by the database (ORM aggregates over
annotated querysets, never a Python loop over rows) for a set of shops and any window, and returns a `Figure` that
carries its numerator and denominator, or no value at all when there is nothing to measure ("no data", never 0).

Times are measured on the merchant's clock: only the spans in which the ticket waited on the merchant count
(a return on its way back is the buyer's time). The platforms' clock rules are expressions here too (`with_clock`):
an application made 23:00–08:00 (China time) starts counting at 08:00 (Douyin 2026 售后平均审核时长). Douyin 2026's
pickup clock (orders paid 18:00–06:00 count from 06:00) belongs to its 揽收时长平均得分, the platform's own score,
not to seed 004's 24小时支付-揽收率, which counts 24 hours from payment.

Seeds 003 and 004 define most of these word for word; each function's docstring quotes the formula it computes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractMinute, ExtractSecond
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    AfterSalesTicket,
    Complaint,
    Liability,
    MerchantLiability,
    Order,
    PlatformRuling,
    ReasonCategory,
    Refund,
    TicketEvent,
    TicketEventAction,
    TicketKind,
    TicketPath,
    TicketState,
)
from aftersales.money import YuanSum
from logistics.models import Shipment, TrackingEvent
from metrics.models import ChatSession, ProductReview, ProductScore
from warehouse.models import ReturnParcel

CHINA = ZoneInfo("Asia/Shanghai")
HOUR = Decimal(3600)
RATE_PLACES = Decimal("0.0001")
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=ZoneInfo("UTC"))
HOURS_PLACES = Decimal("0.01")
POINTS_PLACES = Decimal("0.01")

# The merchant's answers that end the buyer's wait for a decision (商家确认): agreeing (a refund, a return, a
# replacement) or refusing. Internal steps (asking a supervisor, an intercept request) do not end it. A compensation
# (赔偿) is agreed as a refund of kind compensation, so its agreement is the refund's event (refund_approved, or
# approval_approved above the agent's authority); no event of its own exists.
Action = TicketEvent.Action
MERCHANT_DECISIONS = [
    Action.AUTO_REFUND,
    Action.REFUND_APPROVED,
    Action.APPROVAL_APPROVED,
    Action.REFUND_BEFORE_INTERCEPT,
    Action.INTERCEPT_CONFIRMED,
    Action.CUTOFF_HELD,
    Action.PARCEL_LOST,
    Action.REJECTED,
    Action.RETURN_AGREED,
    Action.RESOLVED_RESHIP,
    Action.RESOLVED_EXCHANGE,
]
# After the return is signed for, the merchant's confirmation (退货签收 → 商家确认).
RETURN_CONFIRMATIONS = [
    Action.INSPECTION_PASSED,
    Action.REFUND_APPROVED,
    Action.APPROVAL_APPROVED,
    Action.REJECTED,
    Action.RESOLVED_EXCHANGE,
]
# An exchange's replacement sent before the return arrived (提前换出): the merchant's confirmation (seed 004).
EARLY_EXCHANGE = Action.EARLY_REPLACEMENT
REFUND_KINDS = [TicketKind.REFUND_ONLY, TicketKind.RETURN_REFUND]
# Seed 004: 退货退款 (含换货). A repair (维修) comes back too, but the platforms do not count it as a return.
RETURN_KINDS = [TicketKind.RETURN_REFUND, TicketKind.EXCHANGE]
# Seed 004's 商品品质退货率 counts 退货退款, 发货后仅退款 and 换货 with a quality first reason: a repair (维修) is an
# after-sale of its own, and a price protection (价保) is about the price, never the goods' quality, whatever reason
# was picked. (Repair and price protection still count where every finished after-sales does: completion time.)
NOT_QUALITY_RETURN_KINDS = [TicketKind.REPAIR, TicketKind.PRICE_PROTECTION]


@dataclass(frozen=True)
class Scope:
    """Which shops and which window [start, end) a figure is about."""

    shop_ids: tuple[int, ...]
    start: datetime
    end: datetime
    # When the figure is taken: what is "due" by then (a pickup's 24 hours) is judged at this moment; the window's
    # end unless a rollup computes a past day's figure later.
    as_of: datetime | None = None

    @classmethod
    def last_days(cls, shop_ids, *, end: datetime, days: int = 30) -> "Scope":
        return cls(tuple(shop_ids), end - timedelta(days=days), end)


@dataclass(frozen=True)
class Figure:
    """A metric's value for a scope: a rate (0–1) or hours, with what it was computed from. `value` is None when the
    denominator is empty: no data, which the page shows as such."""

    value: Decimal | None
    numerator: Decimal
    denominator: int


@dataclass(frozen=True)
class Metric:
    code: str
    name: object
    unit: str  # "rate", "hours", "money", "seconds" or "points" (a platform's own score)
    numerator: object
    denominator: object
    reason_rule: object = ""
    exclusions: object = ""
    compute: Callable[[Scope], Figure] = None
    # Templates read a metric's fields; they must not call it.
    do_not_call_in_templates: ClassVar[bool] = True

    def __call__(self, scope: Scope) -> Figure:
        return self.compute(scope)


# --- building blocks ------------------------------------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> Figure:
    if not denominator:
        return Figure(None, Decimal(numerator), 0)
    return Figure(
        (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, ROUND_HALF_UP), numerator, denominator
    )


def _mean_hours(total: timedelta | None, count: int) -> Figure:
    if not count:
        return Figure(None, Decimal(0), 0)
    seconds = Decimal(total.total_seconds()) if total else Decimal(0)
    hours = seconds / HOUR
    return Figure((hours / count).quantize(HOURS_PLACES, ROUND_HALF_UP), hours.quantize(HOURS_PLACES), count)


def _span(start, end) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _has_event(actions) -> Exists:
    return Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), action__in=actions))


def first_events(scope: Scope, actions, *, since: TicketEventAction | None = None) -> QuerySet:
    """Events of `actions` in the scope's window, on its shops' tickets, that are the first such event of their ticket
    (after the ticket's `since` event, when given). Driven by the index on action and time, so a day's figure reads
    that day's events, not every ticket's history."""
    earlier = TicketEvent.objects.filter(ticket=OuterRef("ticket"), action__in=actions).filter(
        Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk"))
    )
    events = TicketEvent.objects.filter(
        action__in=actions, at__gte=scope.start, at__lt=scope.end, ticket__shop_id__in=scope.shop_ids
    )
    if since:
        since_at = _ticket_event_at(since)
        events = events.annotate(since_at=since_at).filter(at__gte=F("since_at"))
        earlier = earlier.filter(at__gte=OuterRef("since_at"))
    return events.exclude(Exists(earlier))


def _ticket_event_at(action: TicketEventAction) -> Subquery:
    """The time of the event's ticket's first `action` event."""
    return Subquery(
        TicketEvent.objects.filter(ticket=OuterRef("ticket"), action=action).order_by("at", "id").values("at")[:1],
        output_field=DateTimeField(),
    )


def _tickets(scope: Scope) -> QuerySet:
    return AfterSalesTicket.objects.filter(shop_id__in=scope.shop_ids)


def _paid_orders(scope: Scope) -> QuerySet:
    return Order.objects.filter(shop_id__in=scope.shop_ids, paid_at__gte=scope.start, paid_at__lt=scope.end)


def with_clock(queryset: QuerySet, field: str, *, name: str, quiet_from: int, quiet_until: int) -> QuerySet:
    """Annotate `name`: `field`, or, when it falls in the quiet hours [quiet_from:00, quiet_until:00) China time
    (across midnight), the next quiet_until:00, the moment the platform's clock starts.

    Computed as `field` plus the time left until quiet_until:00 from the local time of day, so the database never
    has to turn a local wall-clock time back into an instant."""
    since_midnight = ExpressionWrapper(
        ExtractHour(field, tzinfo=CHINA) * Value(timedelta(hours=1))
        + ExtractMinute(field, tzinfo=CHINA) * Value(timedelta(minutes=1))
        + ExtractSecond(field, tzinfo=CHINA) * Value(timedelta(seconds=1)),
        output_field=DurationField(),
    )
    hour = f"{name}_hour"
    return queryset.annotate(**{hour: ExtractHour(field, tzinfo=CHINA)}).annotate(
        **{
            name: Case(
                When(
                    Q(**{f"{hour}__gte": quiet_from}),
                    then=F(field) + Value(timedelta(days=1, hours=quiet_until)) - since_midnight,
                ),
                When(
                    Q(**{f"{hour}__lt": quiet_until}),
                    then=F(field) + Value(timedelta(hours=quiet_until)) - since_midnight,
                ),
                default=F(field),
                output_field=DateTimeField(),
            )
        }
    )


# --- the metrics ----------------------------------------------------------------------------------------------------


FINISHED_STATES = [TicketState.REFUNDED, TicketState.RESOLVED, TicketState.CANCELLED, TicketState.CLOSED]


def refund_completion_time(scope: Scope) -> Figure:
    """Seed 003: 平均退款完结时间 = 申请退款完结总时长 / 近30天(售中+售后)完结总笔数. Every after-sales finished in the
    window counts, before delivery (售中: paths 1 and 2) and after (售后), whatever it ended in: refunded, resolved by
    a replacement, withdrawn or closed."""
    done = (
        _tickets(scope)
        .filter(state__in=FINISHED_STATES, closed_at__gte=scope.start, closed_at__lt=scope.end)
        .aggregate(total=Sum(_span("opened_at", "closed_at")), count=Count("pk"))
    )
    return _mean_hours(done["total"], done["count"])


def refund_only_merchant_time(scope: Scope) -> Figure:
    decided = (
        first_events(scope, MERCHANT_DECISIONS)
        .filter(ticket__kind=TicketKind.REFUND_ONLY)
        .aggregate(total=Sum(_span("ticket__opened_at", "at")), count=Count("pk"))
    )
    return _mean_hours(decided["total"], decided["count"])


def _return_signed_at() -> Coalesce:
    """When the return waits on the merchant: signed for by the courier at our address (ReturnParcel.signed_at, from
    tracking or the API); where that is not known, the clerk's scan of the parcel (the first return_received)."""
    return Coalesce(
        Subquery(
            ReturnParcel.objects.filter(ticket=OuterRef("ticket")).values("signed_at")[:1],
            output_field=DateTimeField(),
        ),
        _ticket_event_at(Action.RETURN_RECEIVED),
        output_field=DateTimeField(),
    )


def return_merchant_time(scope: Scope) -> Figure:
    """Seed 004: Σ [(application → the merchant agrees to the return) + (the return signed for by the courier at our
    address → the merchant confirms)] ÷ the return and exchange requests confirmed in the window.

    The confirmation is the first of RETURN_CONFIRMATIONS from the signature on, or an early exchange (提前换出), which
    confirms before the parcel is signed for: its second leg is 0."""
    signed = _return_signed_at()
    actions = [*RETURN_CONFIRMATIONS, EARLY_EXCHANGE]
    confirming = Q(action=EARLY_EXCHANGE) | Q(at__gte=F("signed_at"))
    earlier = (
        TicketEvent.objects.filter(ticket=OuterRef("ticket"), action__in=actions)
        .filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")))
        .filter(Q(action=EARLY_EXCHANGE) | Q(at__gte=OuterRef("signed_at")))
    )
    confirmed = (
        TicketEvent.objects.filter(
            action__in=actions,
            at__gte=scope.start,
            at__lt=scope.end,
            ticket__shop_id__in=scope.shop_ids,
            ticket__kind__in=RETURN_KINDS,
        )
        .annotate(signed_at=signed, agreed_at=_ticket_event_at(Action.RETURN_AGREED))
        .filter(confirming, agreed_at__isnull=False)
        .exclude(Exists(earlier))
        .annotate(
            confirming_time=Case(
                When(Q(signed_at__isnull=True) | Q(at__lte=F("signed_at")), then=Value(timedelta())),
                default=_span("signed_at", "at"),
                output_field=DurationField(),
            )
        )
        .aggregate(
            agreeing=Sum(_span("ticket__opened_at", "agreed_at")),
            confirming=Sum("confirming_time"),
            count=Count("pk"),
        )
    )
    total = (confirmed["agreeing"] or timedelta()) + (confirmed["confirming"] or timedelta())
    return _mean_hours(total, confirmed["count"])


def merchant_review_time(scope: Scope) -> Figure:
    refunded = Exists(Refund.objects.filter(ticket=OuterRef("ticket"), status=Refund.Status.SUCCEEDED))
    agreements = first_events(scope, [a for a in MERCHANT_DECISIONS if a != Action.REJECTED]).filter(refunded)
    agreed = (
        with_clock(agreements, "ticket__opened_at", name="clock_start", quiet_from=23, quiet_until=8)
        .annotate(
            review=Case(
                When(at__lt=F("clock_start"), then=Value(timedelta())),
                default=_span("clock_start", "at"),
                output_field=DurationField(),
            )
        )
        .aggregate(total=Sum("review"), count=Count("pk"))
    )
    return _mean_hours(agreed["total"], agreed["count"])


def merchant_liable_rulings() -> QuerySet:
    """The platform's rulings against the merchant with the merchant liable (纠纷商责): ruled for the buyer, and held
    the merchant's liability, or, where the ruling does not say (recorded before it was asked), on a ticket whose
    liability is the merchant's."""
    return PlatformRuling.objects.filter(for_buyer=True).filter(
        Q(liability=MerchantLiability.MERCHANT)
        | Q(liability=MerchantLiability.UNKNOWN, ticket__liability=Liability.MERCHANT)
    )


def dispute_rate(scope: Scope) -> Figure:
    ruled = (
        merchant_liable_rulings()
        .filter(ticket__shop_id__in=scope.shop_ids, recorded_at__gte=scope.start, recorded_at__lt=scope.end)
        .values("ticket__order_id")
        .distinct()
        .count()
    )
    return _rate(ruled, _paid_orders(scope).count())


def quality_refund_rate(scope: Scope) -> Figure:
    """Seed 003: the request's last reason counts (a reason the buyer changed on the same request escapes), but a
    quality request the buyer withdrew still counts when the order was then refunded on another request ("撤销的话是
    算的"): an order refunded in the window counts when the refunding request's last reason is a quality reason, or
    when one of the order's earlier requests was withdrawn with a quality reason as its last. A price difference
    (价保) is never a quality refund."""
    withdrawn_quality = AfterSalesTicket.objects.filter(
        order=OuterRef("order_id"),
        state=TicketState.CANCELLED,
        reason__category=ReasonCategory.QUALITY,
        opened_at__lt=OuterRef("ticket__opened_at"),
    )
    refunded = (
        Refund.objects.filter(
            shop_id__in=scope.shop_ids,
            status=Refund.Status.SUCCEEDED,
            confirmed_at__gte=scope.start,
            confirmed_at__lt=scope.end,
        )
        .filter(Q(ticket__reason__category=ReasonCategory.QUALITY) | Q(Exists(withdrawn_quality)))
        # 退差价 (价保) is a price difference, not a refund for the goods' quality.
        .exclude(kind=Refund.Kind.PRICE_DIFFERENCE)
        .values("order_id")
        .distinct()
        .count()
    )
    return _rate(refunded, _paid_orders(scope).count())


def experience_refund_rate(scope: Scope) -> Figure:
    quality = (
        _tickets(scope)
        .filter(
            kind__in=REFUND_KINDS,
            first_reason__category=ReasonCategory.QUALITY,  # the buyer's first reason
            opened_at__gte=scope.start,
            opened_at__lt=scope.end,
        )
        .values("order_id")
        .distinct()
        .count()
    )
    return _rate(quality, _paid_orders(scope).count())


def quality_return_rate(scope: Scope) -> Figure:
    delivered = Order.objects.filter(
        shop_id__in=scope.shop_ids, delivered_at__gte=scope.start, delivered_at__lt=scope.end
    )
    quality = AfterSalesTicket.objects.filter(
        order=OuterRef("pk"), first_reason__category=ReasonCategory.QUALITY
    ).exclude(kind__in=NOT_QUALITY_RETURN_KINDS)
    counts = delivered.aggregate(all=Count("pk"), quality=Count("pk", filter=Q(Exists(quality))))
    return _rate(counts["quality"], counts["all"])


def _valid_after_shipment(tickets: QuerySet) -> QuerySet:
    """The valid post-shipment after-sales of seed 004's 售后拒绝率: not path 1 (before shipping); not withdrawn by the
    buyer before the merchant acted; not opened by the platform after the after-sales period, refused, and neither
    arbitrated nor the merchant's liability."""
    return (
        tickets.exclude(path=TicketPath.NOT_SHIPPED)
        .exclude(Q(state=TicketState.CANCELLED) & ~Q(_has_event(MERCHANT_DECISIONS)))
        .exclude(
            Q(platform_opened_late=True) & ~Q(_has_event([Action.PLATFORM_REVIEW])) & ~Q(liability=Liability.MERCHANT)
        )
    )


def rejection_rate(scope: Scope) -> Figure:
    """Per order: the orders whose last valid post-shipment after-sales finished in the window, and of them those
    whose result was a rejection. A ticket the merchant rejected is a rejection whatever came after (the buyer
    accepting it, the platform overturning it and refunding, or no one closing it); it is finished when it is closed,
    or, left rejected, at the rejection. An order with a later valid after-sales is judged by that one."""
    valid = _valid_after_shipment(AfterSalesTicket.objects.all())
    later = valid.filter(order=OuterRef("order")).filter(
        Q(opened_at__gt=OuterRef("opened_at")) | Q(opened_at=OuterRef("opened_at"), pk__gt=OuterRef("pk"))
    )
    rejected_at = Subquery(
        TicketEvent.objects.filter(ticket=OuterRef("pk"), action=Action.REJECTED)
        .order_by("-at", "-id")
        .values("at")[:1],
        output_field=DateTimeField(),
    )
    finished = (
        _valid_after_shipment(_tickets(scope))
        .annotate(rejected_at=rejected_at)
        .filter(
            Q(closed_at__gte=scope.start, closed_at__lt=scope.end)
            | Q(
                closed_at__isnull=True,
                state=TicketState.REJECTED,
                rejected_at__gte=scope.start,
                rejected_at__lt=scope.end,
            )
        )
        .exclude(Exists(later))
    )
    counts = finished.aggregate(all=Count("pk"), rejected=Count("pk", filter=Q(rejected_at__isnull=False)))
    return _rate(counts["rejected"], counts["all"])


def platform_help_rate(scope: Scope) -> Figure:
    """Orders paid in the window with a complaint (投诉) or a dispute ruled against the merchant as liable, whenever
    either came, ÷ orders paid in the window."""
    complained = Exists(Complaint.objects.filter(order=OuterRef("pk")))
    disputed = Exists(merchant_liable_rulings().filter(ticket__order=OuterRef("pk")))
    counts = _paid_orders(scope).aggregate(all=Count("pk"), helped=Count("pk", filter=Q(complained) | Q(disputed)))
    return _rate(counts["helped"], counts["all"])


def return_refund_rate(scope: Scope) -> Figure:
    returns = (
        _tickets(scope)
        .filter(kind=TicketKind.RETURN_REFUND, opened_at__gte=scope.start, opened_at__lt=scope.end)
        .count()
    )
    return _rate(returns, _paid_orders(scope).count())


def _handled(scope: Scope) -> QuerySet:
    return _tickets(scope).filter(closed_at__gte=scope.start, closed_at__lt=scope.end)


# A partial refund is compensation when the buyer keeps the goods (the seed's ¥5 for a watch that does not run):
# the goods went out (paths 2 and 3) and the request returns nothing. A partial refund of goods never shipped (path
# 1) or of a return is a refund, not compensation.
GOODS_KEPT_PATHS = [TicketPath.NOT_RECEIVED, TicketPath.RECEIVED_NO_RETURN]


def compensation_refund_parts(shop_ids, start: datetime, end: datetime) -> tuple[QuerySet, QuerySet]:
    """compensation_refunds as its two kinds apart: the compensation refunds, which the partial index
    (refund_paid_kind_idx) answers alone, and the few partial refunds given as compensation, joined to their
    tickets. Together in one query, the OR of the ticket's path and kind made PostgreSQL hash every ticket of the
    table (or every ticket of those paths, as EXISTS) for a month of refunds: 50 ms of the dashboard at a year."""
    paid = Refund.objects.filter(
        shop_id__in=shop_ids, status=Refund.Status.SUCCEEDED, confirmed_at__gte=start, confirmed_at__lt=end
    )
    return (
        paid.filter(kind=Refund.Kind.COMPENSATION),
        paid.filter(
            kind=Refund.Kind.PARTIAL,
            ticket__path__in=GOODS_KEPT_PATHS,
            ticket__kind__in=[TicketKind.REFUND_ONLY, TicketKind.COMPENSATION],
        ),
    )


def compensation_refunds(shop_ids, start: datetime, end: datetime) -> QuerySet:
    """The compensation paid to buyers (赔偿金额) in [start, end), by when the marketplace confirmed it: refunds of
    the compensation kind, and partial refunds given as compensation (see GOODS_KEPT_PATHS). One rule for the
    figure and the per-agent table (metrics/selectors.py, which reads the two parts apart)."""
    compensation, partial = compensation_refund_parts(shop_ids, start, end)
    return compensation | partial


def compensation_per_case(scope: Scope) -> Figure:
    """Seed 003: 赔偿单价 = 赔偿金额 / 处理的问题数."""
    handled = _handled(scope).count()
    paid = compensation_refunds(scope.shop_ids, scope.start, scope.end).aggregate(total=YuanSum("amount"))[
        "total"
    ] or Decimal("0.00")
    if not handled:
        return Figure(None, paid, 0)
    return Figure((paid / handled).quantize(Decimal("0.01"), ROUND_HALF_UP), paid, handled)


def repurchase_rate(scope: Scope) -> Figure:
    """Seed 003: 复购率 = 老客户再次购买的单数 / 处理问题件的笔数: the ORDERS the handled buyers paid the shop after
    their request was handled, each handled request counting its buyer's later orders (as the per-agent table
    counts them), over the requests handled."""
    later = (
        Order.objects.filter(
            shop_id=OuterRef("shop_id"),
            buyer_nick=OuterRef("order__buyer_nick"),
            paid_at__gt=OuterRef("closed_at"),
        )
        .exclude(buyer_nick="")
        .order_by()
        .values("buyer_nick")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    counts = _handled(scope).aggregate(
        all=Count("pk"),
        orders=Sum(Coalesce(Subquery(later, output_field=IntegerField()), Value(0))),
    )
    return _rate(counts["orders"] or 0, counts["all"])


def first_response_time(scope: Scope) -> Figure:
    """Seed 003 售后响应时间: how long the buyer waited for the first reply, per request opened in the window.

    Where the platform's chat export has the buyer's session (ChatSession with the order's buyer nickname, started
    from the application until the request finished): that session's time to the first answer. Where there is no
    such session, or it was never answered: the first action of a person on the request, from the application (the
    system's own moves are not a reply). The definition on the page says so."""
    from aftersales.selectors import system_user

    by_agent = (
        TicketEvent.objects.filter(ticket=OuterRef("pk")).exclude(actor=system_user()).exclude(action=Action.OPENED)
    )
    chat = (
        ChatSession.objects.filter(
            shop_id=OuterRef("shop_id"),
            buyer_nick=OuterRef("order__buyer_nick"),
            started_at__gte=OuterRef("opened_at"),
            started_at__lt=OuterRef("chat_until"),
        )
        .exclude(buyer_nick="")
        .order_by("started_at", "id")
        .values("first_response_seconds")[:1]
    )
    responded = (
        _tickets(scope)
        .filter(opened_at__gte=scope.start, opened_at__lt=scope.end)
        .annotate(chat_until=Coalesce("closed_at", Value(FAR_FUTURE), output_field=DateTimeField()))
        .annotate(
            chat_wait=ExpressionWrapper(
                Subquery(chat, output_field=IntegerField()) * Value(timedelta(seconds=1)), output_field=DurationField()
            ),
            acted_at=Subquery(by_agent.order_by("at", "id").values("at")[:1]),
        )
        .annotate(
            waited=Coalesce(F("chat_wait"), _span("opened_at", "acted_at"), output_field=DurationField()),
        )
        .filter(waited__isnull=False)
        .aggregate(total=Sum("waited"), count=Count("pk"))
    )
    return _mean_hours(responded["total"], responded["count"])


def in_stock_orders(queryset: QuerySet) -> QuerySet:
    """现货订单: orders that need shipping, neither custom-made (定制) nor presale (预售) (seed 004)."""
    return queryset.filter(needs_shipping=True, is_custom_made=False, is_presale=False)


def _first_pickup_scan() -> Subquery:
    """The courier's first scan of the order's own parcel (揽收): the earliest TrackingEvent of its outbound
    shipment (not a replacement sent for a ticket), whatever the scan's status. Not Order.shipped_at, which is when
    the shop marked it shipped."""
    return Subquery(
        TrackingEvent.objects.filter(
            shipment__order=OuterRef("pk"),
            shipment__direction=Shipment.Direction.OUTBOUND,
            shipment__ticket__isnull=True,
        )
        .order_by("scanned_at")
        .values("scanned_at")[:1],
        output_field=DateTimeField(),
    )


def pickup_24h_rate(scope: Scope) -> Figure:
    """Seed 004 24小时支付-揽收率 = 近30天支揽在24h内的现货订单数 / 近30天应揽收现货订单数: in-stock orders paid in the
    window whose first pickup scan came within 24 hours of payment ÷ in-stock orders paid in the window whose 24 hours
    are over. No night clock: the 18:00–06:00 rule is Douyin's 2026 rule, not this card's."""
    return _picked_up_within(scope, hours=24)


def _picked_up_within(scope: Scope, *, hours: int) -> Figure:
    due = in_stock_orders(_paid_orders(scope)).annotate(
        pickup_due=ExpressionWrapper(F("paid_at") + Value(timedelta(hours=hours)), output_field=DateTimeField()),
        picked_up_at=_first_pickup_scan(),
    )
    # Only orders whose hours are over by the end of the window (or when the figure is taken) are due.
    due = due.filter(pickup_due__lte=scope.as_of or scope.end)
    counts = due.aggregate(all=Count("pk"), picked=Count("pk", filter=Q(picked_up_at__lte=F("pickup_due"))))
    return _rate(counts["picked"], counts["all"])


# 发货慢 / 超时发货: the reasons that are negative feedback on shipping (seed 004).
LATE_SHIPPING_REASONS = ["late_shipping"]
# An in-stock order's late-shipping feedback within its promised shipping time is not counted; an order without its
# own promise (Order.promised_ship_by) is held to 48 hours, Douyin's usual promise for in-stock goods. A presale
# order's within 48 hours of payment is not counted.
DEFAULT_SHIP_PROMISE = timedelta(hours=48)
PRESALE_GRACE = timedelta(hours=48)


def _late_shipping_requests() -> QuerySet:
    """After-sales requests (refunds, returns, …) of the outer order whose buyer gave late shipping as the reason,
    made from the outer order's `feedback_counts_from` on."""
    return AfterSalesTicket.objects.filter(
        order=OuterRef("pk"),
        first_reason__code__in=LATE_SHIPPING_REASONS,
        opened_at__gte=OuterRef("feedback_counts_from"),
    )


# Where negative shipping feedback comes from: each entry returns a queryset correlated to the outer Order (OuterRef
# "pk"), of late-shipping feedback made from OuterRef("feedback_counts_from") on; an order counts when any has a
# row. Complaints to the platform (投诉) about shipping join this list as one more such function.
SHIPPING_FEEDBACK_SOURCES: list[Callable[[], QuerySet]] = [_late_shipping_requests]


def shipping_negative_feedback_rate(scope: Scope) -> Figure:
    """Seed 004 发货问题负向反馈率 = 近30天支付中产生发货问题负反馈的订单数 / 近30天支付订单数:
    orders paid in the window with negative feedback on shipping (a request or a complaint whose reason is slow or
    late shipping) ÷ orders paid in the window. Not counted: an in-stock order's feedback within its promised
    shipping time; a presale order's within 48 hours of payment."""
    orders = _paid_orders(scope).annotate(
        feedback_counts_from=Case(
            When(is_presale=True, then=F("paid_at") + Value(PRESALE_GRACE)),
            default=Coalesce("promised_ship_by", F("paid_at") + Value(DEFAULT_SHIP_PROMISE)),
            output_field=DateTimeField(),
        )
    )
    negative = Q()
    for source in SHIPPING_FEEDBACK_SOURCES:
        negative |= Q(Exists(source()))
    orders = orders.annotate(
        has_negative_feedback=Case(When(negative, then=Value(True)), default=Value(False), output_field=BooleanField())
    )
    counts = orders.aggregate(all=Count("pk"), negative=Count("pk", filter=Q(has_negative_feedback=True)))
    return _rate(counts["negative"], counts["all"])


def delivery_time(scope: Scope) -> Figure:
    signed = Order.objects.filter(
        shop_id__in=scope.shop_ids, delivered_at__gte=scope.start, delivered_at__lt=scope.end
    ).aggregate(total=Sum(_span("shipped_at", "delivered_at")), count=Count("pk"))
    return _mean_hours(signed["total"], signed["count"])


# --- from the platforms' exports (metrics/platform_data.py) --------------------------------------------------------

# Douyin 2026 飞鸽平均响应时长: only sessions started 08:00–22:59 China time count; an unanswered one counts 10 minutes.
CHAT_HOURS = (8, 22)
UNANSWERED_SECONDS = 600
SECONDS_PLACES = Decimal("0.01")


def chat_response_time(scope: Scope) -> Figure:
    sessions = (
        ChatSession.objects.filter(shop_id__in=scope.shop_ids, started_at__gte=scope.start, started_at__lt=scope.end)
        .annotate(started_hour=ExtractHour("started_at", tzinfo=CHINA))
        .filter(started_hour__gte=CHAT_HOURS[0], started_hour__lte=CHAT_HOURS[1])
        .aggregate(total=Sum(Coalesce("first_response_seconds", Value(UNANSWERED_SECONDS))), count=Count("pk"))
    )
    total, count = Decimal(sessions["total"] or 0), sessions["count"]
    if not count:
        return Figure(None, total, 0)
    return Figure((total / count).quantize(SECONDS_PLACES, ROUND_HALF_UP), total, count)


def chat_dissatisfaction_rate(scope: Scope) -> Figure:
    rated = ChatSession.objects.filter(
        shop_id__in=scope.shop_ids, started_at__gte=scope.start, started_at__lt=scope.end, rating__isnull=False
    ).aggregate(all=Count("pk"), unhappy=Count("pk", filter=Q(rating__lte=3)))
    return _rate(rated["unhappy"], rated["all"])


# 差评 is 1–2 stars, for the logistics stars as for the product's (Tmall's 商品负反馈率 counts 1–2★ ratings too).
NEGATIVE_STARS = 2


def negative_review_rate(scope: Scope) -> Figure:
    """Seed 004's 商品差评率: orders whose buyer's first review (首次评价), given in the window, rated the product 1–2
    stars ÷ orders signed for in the window. A review changed or followed up later does not change it."""
    negative = ProductReview.objects.filter(
        shop_id__in=scope.shop_ids,
        first_reviewed_at__gte=scope.start,
        first_reviewed_at__lt=scope.end,
        first_rating__lte=NEGATIVE_STARS,
    ).count()
    signed = Order.objects.filter(
        shop_id__in=scope.shop_ids, delivered_at__gte=scope.start, delivered_at__lt=scope.end
    ).count()
    return _rate(negative, signed)


def logistics_negative_review_rate(scope: Scope) -> Figure:
    rated = ProductReview.objects.filter(
        shop_id__in=scope.shop_ids,
        reviewed_at__gte=scope.start,
        reviewed_at__lt=scope.end,
        logistics_rating__isnull=False,
    ).aggregate(all=Count("pk"), negative=Count("pk", filter=Q(logistics_rating__lte=NEGATIVE_STARS)))
    return _rate(rated["negative"], rated["all"])


def _days_starting_in(scope: Scope) -> tuple[date, date]:
    """[first, end) of the China-time days whose midnight falls in the scope's window: a platform's daily figure
    belongs to the window its day starts in, so a rollup's one day holds that day's figure alone."""

    def first_midnight_from(moment: datetime) -> date:
        local = timezone.localtime(moment, CHINA)
        return local.date() if local.time() == time() else local.date() + timedelta(days=1)

    return first_midnight_from(scope.start), first_midnight_from(scope.end)


def product_rating(scope: Scope) -> Figure:
    first, end = _days_starting_in(scope)
    scores = ProductScore.objects.filter(shop_id__in=scope.shop_ids, day__gte=first, day__lt=end).aggregate(
        total=Sum("score"), days=Count("pk")
    )
    total, days = scores["total"] or Decimal(0), scores["days"]
    if not days:
        return Figure(None, total, 0)
    return Figure((total / days).quantize(POINTS_PLACES, ROUND_HALF_UP), total, days)


# --- Tmall/Taobao 店铺真实体验分 (rule 20009524) and Douyin 2026 (rule 103956) ----------------------------------

POSITIVE_STARS = 4
CHAT_3MIN_HOURS = (8, 22)  # sessions started 08:00–22:59 China time (旺旺 08:00–23:00)
CHAT_3MIN_SECONDS = 180
# 发货物流品退率: after-sales whose buyer's first reason is a shipping or logistics problem (or a quality one).
SHIPPING_LOGISTICS_REASONS = [
    "late_shipping",
    "delivery_delay",
    "damaged_packaging",
    "lost_parcel",
    "wrong_item",
    "missing_items",
    "wrong_contents",
]


def arrival_time(scope: Scope) -> Figure:
    """Tmall 物流到货时长: Σ(payment → signature) ÷ orders signed for in the window."""
    signed = Order.objects.filter(
        shop_id__in=scope.shop_ids, delivered_at__gte=scope.start, delivered_at__lt=scope.end
    ).aggregate(total=Sum(_span("paid_at", "delivered_at")), count=Count("pk"))
    return _mean_hours(signed["total"], signed["count"])


def pickup_48h_rate(scope: Scope) -> Figure:
    """Tmall 48小时揽收及时率: in-stock orders paid in the window whose first pickup scan came within 48 hours of
    payment ÷ in-stock orders paid in the window whose 48 hours are over."""
    return _picked_up_within(scope, hours=48)


def positive_review_rate(scope: Scope) -> Figure:
    """Tmall 商品好评率: reviews given in the window with 4–5 stars ÷ reviews given in the window."""
    reviews = ProductReview.objects.filter(
        shop_id__in=scope.shop_ids, reviewed_at__gte=scope.start, reviewed_at__lt=scope.end
    ).aggregate(all=Count("pk"), positive=Count("pk", filter=Q(rating__gte=POSITIVE_STARS)))
    return _rate(reviews["positive"], reviews["all"])


def _chats_in_service_hours(scope: Scope) -> QuerySet:
    return (
        ChatSession.objects.filter(shop_id__in=scope.shop_ids, started_at__gte=scope.start, started_at__lt=scope.end)
        .annotate(started_hour=ExtractHour("started_at", tzinfo=CHINA))
        .filter(started_hour__gte=CHAT_3MIN_HOURS[0], started_hour__lte=CHAT_3MIN_HOURS[1])
    )


def chat_3min_response_rate(scope: Scope) -> Figure:
    """Tmall 旺旺3分钟人工响应率: sessions started 08:00–22:59 answered within 180 seconds ÷ those sessions (an
    unanswered one is not answered in time)."""
    sessions = _chats_in_service_hours(scope).aggregate(
        all=Count("pk"), answered=Count("pk", filter=Q(first_response_seconds__lte=CHAT_3MIN_SECONDS))
    )
    return _rate(sessions["answered"], sessions["all"])


def chat_satisfaction_rate(scope: Scope) -> Figure:
    """Tmall 旺旺满意度: sessions started in the window rated 4–5 stars ÷ rated sessions started in the window."""
    rated = ChatSession.objects.filter(
        shop_id__in=scope.shop_ids, started_at__gte=scope.start, started_at__lt=scope.end, rating__isnull=False
    ).aggregate(all=Count("pk"), happy=Count("pk", filter=Q(rating__gte=POSITIVE_STARS)))
    return _rate(rated["happy"], rated["all"])


def refund_handling_time(scope: Scope) -> Figure:
    """Tmall 退款处理时长: Σ the seller's handling time (application → the merchant's first decision) ÷ refunds
    completed in the window (requests that ended refunded, closed in the window)."""
    decided = Subquery(
        TicketEvent.objects.filter(ticket=OuterRef("pk"), action__in=MERCHANT_DECISIONS)
        .order_by("at", "id")
        .values("at")[:1],
        output_field=DateTimeField(),
    )
    done = (
        _tickets(scope)
        .filter(state=TicketState.REFUNDED, closed_at__gte=scope.start, closed_at__lt=scope.end)
        .annotate(decided_at=decided)
        .filter(decided_at__isnull=False)
        .aggregate(total=Sum(_span("opened_at", "decided_at")), count=Count("pk"))
    )
    return _mean_hours(done["total"], done["count"])


def dispute_refund_rate(scope: Scope) -> Figure:
    """Tmall 纠纷退款率: orders the platform ruled for the buyer (a refund) in the window, whoever was liable ÷ orders
    paid in the window."""
    ruled = (
        TicketEvent.objects.filter(
            action=Action.RULED_FOR_BUYER, at__gte=scope.start, at__lt=scope.end, ticket__shop_id__in=scope.shop_ids
        )
        .values("ticket__order_id")
        .distinct()
        .count()
    )
    return _rate(ruled, _paid_orders(scope).count())


def negative_feedback_rate(scope: Scope) -> Figure:
    """Tmall 商品负反馈率: orders signed for in the window with an after-sales request whose first reason is a quality
    reason, or a product review of 1–2 stars ÷ orders signed for in the window."""
    signed = Order.objects.filter(shop_id__in=scope.shop_ids, delivered_at__gte=scope.start, delivered_at__lt=scope.end)
    quality = AfterSalesTicket.objects.filter(order=OuterRef("pk"), first_reason__category=ReasonCategory.QUALITY)
    bad_review = ProductReview.objects.filter(
        shop_id=OuterRef("shop_id"), platform_order_id=OuterRef("platform_order_id"), rating__lte=NEGATIVE_STARS
    )
    counts = signed.aggregate(all=Count("pk"), negative=Count("pk", filter=Q(Exists(quality)) | Q(Exists(bad_review))))
    return _rate(counts["negative"], counts["all"])


def logistics_quality_return_rate(scope: Scope) -> Figure:
    """Douyin 2026 发货物流品退率: orders paid in the window with an after-sales request whose buyer's first reason is
    a shipping, logistics or quality problem ÷ orders paid in the window."""
    requests = AfterSalesTicket.objects.filter(order=OuterRef("pk")).filter(
        Q(first_reason__code__in=SHIPPING_LOGISTICS_REASONS) | Q(first_reason__category=ReasonCategory.QUALITY)
    )
    counts = _paid_orders(scope).aggregate(all=Count("pk"), returned=Count("pk", filter=Q(Exists(requests))))
    return _rate(counts["returned"], counts["all"])


def _taken_to_platform() -> QuerySet:
    """Requests of the outer order taken to the platform (arbitration, platform review)."""
    return TicketEvent.objects.filter(ticket__order=OuterRef("pk"), action=Action.PLATFORM_REVIEW)


# Where an order's escalation to the platform comes from: each entry returns a queryset correlated to the outer Order
# (OuterRef "pk"); an order counts when any has a row. Complaints (投诉) and buyers' contacts to the platform's
# service join this list as one more such function.
PLATFORM_ESCALATION_SOURCES: list[Callable[[], QuerySet]] = [_taken_to_platform]


def _escalated() -> Q:
    escalated = Q()
    for source in PLATFORM_ESCALATION_SOURCES:
        escalated |= Q(Exists(source()))
    return escalated


def platform_contact_rate(scope: Scope) -> Figure:
    """Tmall 平台求助率 = (disputes + complaints + buyer contacts to the platform) ÷ paid orders: orders paid in the
    window taken to the platform (PLATFORM_ESCALATION_SOURCES) ÷ orders paid in the window."""
    counts = _paid_orders(scope).aggregate(all=Count("pk"), escalated=Count("pk", filter=_escalated()))
    return _rate(counts["escalated"], counts["all"])


def help_escalation_rate(scope: Scope) -> Figure:
    """Douyin 2026 平台求助率: orders escalated to the platform ÷ orders where the buyer asked the seller for help:
    of the orders with an after-sales request opened in the window, those taken to the platform
    (PLATFORM_ESCALATION_SOURCES)."""
    asked = Order.objects.filter(
        shop_id__in=scope.shop_ids,
        pk__in=_tickets(scope).filter(opened_at__gte=scope.start, opened_at__lt=scope.end).values("order_id"),
    )
    counts = asked.aggregate(all=Count("pk"), escalated=Count("pk", filter=_escalated()))
    return _rate(counts["escalated"], counts["all"])


METRICS = [
    Metric(
        "refund_completion_time",
        _("refund completion time (退款完结时长)"),
        "hours",
        _("Σ time from application to completion of the after-sales requests finished in the window"),
        _(
            "after-sales requests finished in the window, before and after delivery (售中 + 售后), whatever they ended "
            "in: refunded, resolved by a replacement, withdrawn or closed"
        ),
        compute=refund_completion_time,
    ),
    Metric(
        "refund_only_merchant_time",
        _("refund-only merchant time (仅退款自主完结时长)"),
        "hours",
        _("Σ time from application to the merchant's decision (agree or refuse)"),
        _("refund-only tickets the merchant decided in the window"),
        compute=refund_only_merchant_time,
    ),
    Metric(
        "return_merchant_time",
        _("return merchant time (退货退款自主完结时长)"),
        "hours",
        _(
            "Σ [(application → merchant agrees to the return) + (return signed for by the courier at our address → "
            "merchant confirms)]"
        ),
        _("return and exchange requests the merchant confirmed in the window"),
        exclusions=_(
            "The return's journey is the buyer's time and is not counted. Where the courier's signature is not "
            "recorded, the second part starts at the warehouse clerk's scan of the parcel. An early exchange "
            "(提前换出) is the merchant's confirmation: sent before the return is signed for, its second part is 0."
        ),
        compute=return_merchant_time,
    ),
    Metric(
        "merchant_review_time",
        _("average review time (售后平均审核时长, Douyin 2026)"),
        "hours",
        _("Σ time from application to agreement; applications 23:00–08:00 count from 08:00"),
        _("tickets successfully refunded, agreed in the window"),
        compute=merchant_review_time,
    ),
    Metric(
        "dispute_rate",
        _("dispute rate (纠纷率)"),
        "rate",
        _(
            "orders with a dispute the platform ruled in the window against the merchant, with the merchant liable "
            "(商责); a ruling that does not say counts when the ticket's liability is the merchant's"
        ),
        _("orders paid in the window"),
        exclusions=_("Rulings for the merchant, and for the buyer with another party liable, are not counted."),
        compute=dispute_rate,
    ),
    Metric(
        "quality_refund_rate",
        _("quality refund rate (品质退款率)"),
        "rate",
        _(
            "orders refunded in the window whose request's last reason is a quality reason, or that had an earlier "
            "request with a quality reason which the buyer withdrew; a price difference (价保) never counts"
        ),
        _("orders paid in the window"),
        reason_rule=_(
            "last reason: a reason changed on the same request counts as changed; withdrawing a quality request and "
            "applying again with another reason does not escape"
        ),
        compute=quality_refund_rate,
    ),
    Metric(
        "experience_refund_rate",
        _("experience refund rate (商品体验退款率)"),
        "rate",
        _("orders with a refund request opened in the window whose first reason is a quality reason"),
        _("orders paid in the window"),
        reason_rule=_("first reason"),
        compute=experience_refund_rate,
    ),
    Metric(
        "quality_return_rate",
        _("quality return rate (商品品质退货率)"),
        "rate",
        _(
            "orders delivered in the window with an after-sales request (return, refund or exchange; not a repair "
            "or a price protection) whose first reason is a quality reason"
        ),
        _("orders delivered in the window"),
        reason_rule=_("first reason"),
        compute=quality_return_rate,
    ),
    Metric(
        "rejection_rate",
        _("rejection rate (售后拒绝率)"),
        "rate",
        _(
            "orders whose last valid post-shipment after-sales, finished in the window, the merchant rejected, "
            "including rejections the platform later overturned and rejections no one closed"
        ),
        _(
            "orders whose last valid post-shipment after-sales finished in the window (closed, or left rejected "
            "at the rejection)"
        ),
        reason_rule=_("last valid result, per order"),
        exclusions=_(
            "Not valid: withdrawn by the buyer before the merchant acted; opened by the platform after the "
            "after-sales period, neither arbitrated nor the merchant's liability."
        ),
        compute=rejection_rate,
    ),
    Metric(
        "platform_help_rate",
        _("platform help rate (平台求助率)"),
        "rate",
        _(
            "orders paid in the window with a complaint (投诉), or with a dispute the platform ruled against the "
            "merchant as liable (纠纷商责), whenever it came"
        ),
        _("orders paid in the window"),
        exclusions=_(
            "A dispute the merchant won, or lost with another party liable, is not counted; taking a case to the "
            "platform alone is not."
        ),
        compute=platform_help_rate,
    ),
    Metric(
        "return_refund_rate",
        _("return-refund rate (退货退款率)"),
        "rate",
        _("return-and-refund tickets opened in the window"),
        _("orders paid in the window"),
        compute=return_refund_rate,
    ),
    Metric(
        "compensation_per_case",
        _("compensation per case (赔偿单价)"),
        "money",
        _(
            "compensation paid in the window (CNY): compensation refunds, and partial refunds on requests where the "
            "buyer keeps the goods (shipped, no return)"
        ),
        _("tickets handled (closed) in the window"),
        compute=compensation_per_case,
    ),
    Metric(
        "repurchase_rate",
        _("repurchase after after-sales (复购率)"),
        "rate",
        _("orders the buyers of the tickets handled in the window paid the shop after their ticket was handled"),
        _("tickets handled (closed) in the window"),
        compute=repurchase_rate,
    ),
    Metric(
        "first_response_time",
        _("first response time (售后响应时间)"),
        "hours",
        _(
            "Σ time the buyer waited for the first reply: in the buyer's first chat session from the application on, "
            "its time to the first answer; where there is no such chat session, or it went unanswered, the time from "
            "the application to the first action of a person on the ticket"
        ),
        _("tickets opened in the window that were answered"),
        exclusions=_("The system's automatic moves are not a response."),
        compute=first_response_time,
    ),
    Metric(
        "pickup_24h_rate",
        _("24-hour pickup rate (24小时揽收率)"),
        "rate",
        _("in-stock orders whose courier's first pickup scan came within 24 hours of payment"),
        _("in-stock orders paid in the window whose 24 hours are over"),
        exclusions=_(
            "Orders that need no shipping, custom-made and presale orders are not counted. The pickup is the "
            "courier's first scan, not the time the shop marked the order shipped."
        ),
        compute=pickup_24h_rate,
    ),
    Metric(
        "shipping_negative_feedback_rate",
        _("shipping negative feedback rate (发货问题负向反馈率)"),
        "rate",
        _("orders paid in the window with a request or complaint whose reason is slow or late shipping"),
        _("orders paid in the window"),
        reason_rule=_("the buyer's first reason"),
        exclusions=_(
            "Not counted: feedback within the promised shipping time of an in-stock order (48 hours after payment "
            "when the order has no promised time); feedback within 48 hours of payment on a presale order."
        ),
        compute=shipping_negative_feedback_rate,
    ),
    Metric(
        "delivery_time",
        _("delivery time (订单配送时长)"),
        "hours",
        _("Σ time from pickup to signature"),
        _("orders signed for in the window"),
        compute=delivery_time,
    ),
    Metric(
        "chat_response_time",
        _("chat average response time (飞鸽平均响应时长)"),
        "seconds",
        _("Σ seconds from the session's start to the first answer; an unanswered session counts 600 s"),
        _("chat sessions started 08:00–22:59 (China time) in the window"),
        exclusions=_("Sessions started 23:00–07:59 are not counted."),
        compute=chat_response_time,
    ),
    Metric(
        "chat_dissatisfaction_rate",
        _("chat dissatisfaction rate (飞鸽会话不满意率)"),
        "rate",
        _("sessions started in the window that the buyer rated 1–3 stars"),
        _("sessions started in the window that the buyer rated"),
        compute=chat_dissatisfaction_rate,
    ),
    Metric(
        "negative_review_rate",
        _("negative review rate (商品差评率)"),
        "rate",
        _("orders whose buyer's first review, given in the window, rated the product 1–2 stars"),
        _("orders signed for in the window"),
        reason_rule=_("the buyer's first review"),
        exclusions=_("A review changed or followed up later does not change it."),
        compute=negative_review_rate,
    ),
    Metric(
        "logistics_negative_review_rate",
        _("logistics negative review rate (物流差评率)"),
        "rate",
        _("reviews given in the window with a logistics rating of 1–2 stars"),
        _("reviews given in the window with a logistics rating"),
        exclusions=_("Reviews without a logistics rating are not counted."),
        compute=logistics_negative_review_rate,
    ),
    Metric(
        "product_rating",
        _("product overall rating (商品综合评分)"),
        "points",
        _("Σ the daily product overall scores (0–5) the platform reported for the days in the window"),
        _("days in the window with a reported score"),
        exclusions=_("Days without a reported score are not counted."),
        compute=product_rating,
    ),
]
METRICS += [
    Metric(
        "arrival_time",
        _("arrival time (物流到货时长)"),
        "hours",
        _("Σ time from payment to signature"),
        _("orders signed for in the window"),
        compute=arrival_time,
    ),
    Metric(
        "pickup_48h_rate",
        _("48-hour pickup rate (48小时揽收及时率)"),
        "rate",
        _("in-stock orders whose courier's first pickup scan came within 48 hours of payment"),
        _("in-stock orders paid in the window whose 48 hours are over"),
        exclusions=_("Orders that need no shipping, custom-made and presale orders are not counted."),
        compute=pickup_48h_rate,
    ),
    Metric(
        "positive_review_rate",
        _("positive review rate (商品好评率)"),
        "rate",
        _("reviews given in the window with a product rating of 4–5 stars"),
        _("reviews given in the window"),
        compute=positive_review_rate,
    ),
    Metric(
        "chat_3min_response_rate",
        _("Wangwang 3-minute response rate (旺旺3分钟人工响应率)"),
        "rate",
        _("chat sessions started 08:00–22:59 (China time) in the window answered within 180 seconds"),
        _("chat sessions started 08:00–22:59 (China time) in the window"),
        exclusions=_("An unanswered session is not answered in time."),
        compute=chat_3min_response_rate,
    ),
    Metric(
        "chat_satisfaction_rate",
        _("Wangwang satisfaction (旺旺满意度)"),
        "rate",
        _("sessions started in the window that the buyer rated 4–5 stars"),
        _("sessions started in the window that the buyer rated"),
        compute=chat_satisfaction_rate,
    ),
    Metric(
        "refund_handling_time",
        _("refund handling time (退款处理时长)"),
        "hours",
        _("Σ time from application to the merchant's first decision"),
        _("requests refunded and completed in the window"),
        compute=refund_handling_time,
    ),
    Metric(
        "dispute_refund_rate",
        _("dispute refund rate (纠纷退款率)"),
        "rate",
        _("orders the platform ruled for the buyer in the window, whoever was liable"),
        _("orders paid in the window"),
        compute=dispute_refund_rate,
    ),
    Metric(
        "negative_feedback_rate",
        _("product negative feedback rate (商品负反馈率)"),
        "rate",
        _(
            "orders signed for in the window with an after-sales request whose first reason is a quality reason, "
            "or a product review of 1–2 stars"
        ),
        _("orders signed for in the window"),
        reason_rule=_("first reason"),
        compute=negative_feedback_rate,
    ),
    Metric(
        "logistics_quality_return_rate",
        _("shipping and logistics return rate (发货物流品退率)"),
        "rate",
        _(
            "orders paid in the window with an after-sales request whose first reason is a shipping, logistics or "
            "quality problem (not shipped on time, delivery delay, damaged packaging, lost parcel, wrong item, "
            "missing items, wrong contents, or a quality reason)"
        ),
        _("orders paid in the window"),
        reason_rule=_("first reason"),
        compute=logistics_quality_return_rate,
    ),
    Metric(
        "platform_contact_rate",
        _("platform help rate, Tmall (平台求助率)"),
        "rate",
        _("orders paid in the window that the buyer took to the platform (platform review)"),
        _("orders paid in the window"),
        compute=platform_contact_rate,
    ),
    Metric(
        "help_escalation_rate",
        _("platform help rate, Douyin 2026 (平台求助率)"),
        "rate",
        _("of those orders, the ones the buyer took to the platform (platform review)"),
        _("orders with an after-sales request opened in the window (the buyer asked the seller for help)"),
        compute=help_escalation_rate,
    ),
]
METRICS_BY_CODE = {metric.code: metric for metric in METRICS}
