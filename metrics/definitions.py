"""The metrics of DESIGN §5, each defined once: what is counted, over what, in which window, what is excluded and
which reason counts (the buyer's first, or the last). Each is computed by the database (ORM aggregates over
annotated querysets, never a Python loop over rows) for a set of shops and any window, and returns a `Figure` that
carries its numerator and denominator, or no value at all when there is nothing to measure ("no data", never 0).

Times are measured on the merchant's clock: only the spans in which the ticket waited on the merchant count
(a return on its way back is the buyer's time). The platforms' clock rules are expressions here too:
- an application made 23:00–08:00 (China time) starts counting at 08:00 (Douyin 售后平均审核时长);
- an order paid 18:00–06:00 starts its pickup clock at 06:00 (Douyin 揽收).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
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
    TicketKind,
    TicketPath,
    TicketState,
)
from aftersales.money import YuanSum
from metrics.models import ChatSession, ProductReview, ProductScore

CHINA = ZoneInfo("Asia/Shanghai")
HOUR = Decimal(3600)
RATE_PLACES = Decimal("0.0001")
HOURS_PLACES = Decimal("0.01")
POINTS_PLACES = Decimal("0.01")

# The merchant's answers that end the buyer's wait for a decision (商家确认): agreeing (a refund, a return, a
# replacement) or refusing. Internal steps (asking a supervisor, an intercept request) do not end it.
MERCHANT_DECISIONS = [
    "auto_refund",
    "refund_approved",
    "approval_approved",
    "refund_before_intercept",
    "intercept_confirmed",
    "cutoff_held",
    "parcel_lost",
    "rejected",
    "return_agreed",
    "resolved_reship",
    "resolved_exchange",
    "resolved_compensation",
]
# After the return is signed for, the merchant's confirmation (退货签收 → 商家确认).
RETURN_CONFIRMATIONS = ["inspection_passed", "refund_approved", "approval_approved", "rejected", "resolved_exchange"]
REFUND_KINDS = [TicketKind.REFUND_ONLY, TicketKind.RETURN_REFUND]
RETURN_KINDS = [TicketKind.RETURN_REFUND, TicketKind.EXCHANGE]


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


def first_events(scope: Scope, actions, *, since: str | None = None) -> QuerySet:
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


def _ticket_event_at(action: str) -> Subquery:
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


def refund_completion_time(scope: Scope) -> Figure:
    done = (
        _tickets(scope)
        .filter(state=TicketState.REFUNDED, closed_at__gte=scope.start, closed_at__lt=scope.end)
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


def return_merchant_time(scope: Scope) -> Figure:
    confirmed = (
        first_events(scope, RETURN_CONFIRMATIONS, since="return_received")
        .filter(ticket__kind__in=RETURN_KINDS)
        .annotate(agreed_at=_ticket_event_at("return_agreed"))
        .filter(agreed_at__isnull=False)
        .aggregate(
            agreeing=Sum(_span("ticket__opened_at", "agreed_at")),
            confirming=Sum(_span("since_at", "at")),
            count=Count("pk"),
        )
    )
    total = (confirmed["agreeing"] or timedelta()) + (confirmed["confirming"] or timedelta())
    return _mean_hours(total, confirmed["count"])


def merchant_review_time(scope: Scope) -> Figure:
    refunded = Exists(Refund.objects.filter(ticket=OuterRef("ticket"), status=Refund.Status.SUCCEEDED))
    agreements = first_events(scope, [action for action in MERCHANT_DECISIONS if action != "rejected"]).filter(refunded)
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
    refunded = (
        Refund.objects.filter(
            shop_id__in=scope.shop_ids,
            status=Refund.Status.SUCCEEDED,
            confirmed_at__gte=scope.start,
            confirmed_at__lt=scope.end,
            ticket__reason__category=ReasonCategory.QUALITY,  # the last reason
        )
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
    quality = AfterSalesTicket.objects.filter(order=OuterRef("pk"), first_reason__category=ReasonCategory.QUALITY)
    counts = delivered.aggregate(all=Count("pk"), quality=Count("pk", filter=Q(Exists(quality))))
    return _rate(counts["quality"], counts["all"])


def _valid_after_shipment(tickets: QuerySet) -> QuerySet:
    """The valid post-shipment after-sales of seed 004's 售后拒绝率: not path 1 (before shipping); not withdrawn by the
    buyer before the merchant acted; not opened by the platform after the after-sales period, refused, and neither
    arbitrated nor the merchant's liability."""
    return (
        tickets.exclude(path=TicketPath.NOT_SHIPPED)
        .exclude(Q(state=TicketState.CANCELLED) & ~Q(_has_event(MERCHANT_DECISIONS)))
        .exclude(Q(platform_opened_late=True) & ~Q(_has_event(["platform_review"])) & ~Q(liability=Liability.MERCHANT))
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
        TicketEvent.objects.filter(ticket=OuterRef("pk"), action="rejected").order_by("-at", "-id").values("at")[:1],
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


def compensation_per_case(scope: Scope) -> Figure:
    handled = _handled(scope).count()
    paid = Refund.objects.filter(
        shop_id__in=scope.shop_ids,
        kind=Refund.Kind.COMPENSATION,
        status=Refund.Status.SUCCEEDED,
        confirmed_at__gte=scope.start,
        confirmed_at__lt=scope.end,
    ).aggregate(total=YuanSum("amount"))["total"] or Decimal("0.00")
    if not handled:
        return Figure(None, paid, 0)
    return Figure((paid / handled).quantize(Decimal("0.01"), ROUND_HALF_UP), paid, handled)


def repurchase_rate(scope: Scope) -> Figure:
    later = Order.objects.filter(
        shop_id=OuterRef("shop_id"),
        buyer_nick=OuterRef("order__buyer_nick"),
        paid_at__gt=OuterRef("closed_at"),
    ).exclude(buyer_nick="")
    counts = _handled(scope).aggregate(all=Count("pk"), repurchased=Count("pk", filter=Q(Exists(later))))
    return _rate(counts["repurchased"], counts["all"])


def first_response_time(scope: Scope) -> Figure:
    from aftersales.selectors import system_user

    by_agent = TicketEvent.objects.filter(ticket=OuterRef("pk")).exclude(actor=system_user()).exclude(action="opened")
    responded = (
        _tickets(scope)
        .filter(opened_at__gte=scope.start, opened_at__lt=scope.end)
        .annotate(responded_at=Subquery(by_agent.order_by("at", "id").values("at")[:1]))
        .filter(responded_at__isnull=False)
        .aggregate(total=Sum(_span("opened_at", "responded_at")), count=Count("pk"))
    )
    return _mean_hours(responded["total"], responded["count"])


def pickup_24h_rate(scope: Scope) -> Figure:
    due = with_clock(_paid_orders(scope), "paid_at", name="pickup_clock", quiet_from=18, quiet_until=6).annotate(
        pickup_due=ExpressionWrapper(F("pickup_clock") + Value(timedelta(hours=24)), DateTimeField())
    )
    # Only orders whose 24 hours are over by the end of the window are due.
    due = due.filter(pickup_due__lte=scope.as_of or scope.end)
    counts = due.aggregate(all=Count("pk"), picked=Count("pk", filter=Q(shipped_at__lte=F("pickup_due"))))
    return _rate(counts["picked"], counts["all"])


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


METRICS = [
    Metric(
        "refund_completion_time",
        _("refund completion time (退款完结时长)"),
        "hours",
        _("Σ time from application to completion of refunded tickets completed in the window"),
        _("refunded tickets completed in the window"),
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
        _("Σ [(application → merchant agrees to the return) + (return signed for → merchant confirms)]"),
        _("return and exchange tickets the merchant confirmed in the window"),
        exclusions=_("The return's journey is the buyer's time and is not counted."),
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
        _("orders refunded in the window whose ticket's last reason is a quality reason"),
        _("orders paid in the window"),
        reason_rule=_("last reason"),
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
        _("orders delivered in the window with an after-sales request whose first reason is a quality reason"),
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
        _("compensation paid in the window (CNY)"),
        _("tickets handled (closed) in the window"),
        compute=compensation_per_case,
    ),
    Metric(
        "repurchase_rate",
        _("repurchase after after-sales (复购率)"),
        "rate",
        _("tickets handled in the window whose buyer ordered again from the shop afterwards"),
        _("tickets handled (closed) in the window"),
        compute=repurchase_rate,
    ),
    Metric(
        "first_response_time",
        _("first response time (售后响应时间)"),
        "hours",
        _("Σ time from application to the first action of a person"),
        _("tickets opened in the window that a person acted on"),
        exclusions=_("The system's automatic moves are not a response."),
        compute=first_response_time,
    ),
    Metric(
        "pickup_24h_rate",
        _("24-hour pickup rate (24小时揽收率)"),
        "rate",
        _("orders picked up within 24 hours of payment; orders paid 18:00–06:00 count from 06:00"),
        _("orders paid in the window whose 24 hours are over"),
        compute=pickup_24h_rate,
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
METRICS_BY_CODE = {metric.code: metric for metric in METRICS}
