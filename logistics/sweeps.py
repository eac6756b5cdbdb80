"""Logistics' scheduled work (DESIGN §4): the hourly no-scan check, the 15-minute intercept follow-up, and its part of
the refund sweep (日清), registered with the refund sweep at start-up:

- 早上对所有仅退款件进行拦截: every refund-only request on a parcel still on its way gets an intercept;
- an intercept the courier confirmed whose ticket still waits is refunded (the confirmation's own move was lost);
- 如仅退款在途超48小时，则优先登记表格先处理售后: a refund-only request whose parcel has been on the road over 48 h is
  refunded now and its parcel registered in the claims ledger (先退款后拦截), so the courier bears a failed intercept.

The refund-sweep steps find rare leftovers and move each ticket through the service an agent's click would use; the
two checks are the set-based batch services of logistics.services, each run recorded as a SweepRun.
"""

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from aftersales import services as aftersales
from aftersales.models import AfterSalesTicket, SweepRun, TicketKind, TicketState
from desk.sweeps import SweepContext, sweep_run, tickets_each
from logistics.models import InterceptRequest, Shipment
from logistics.robots import robot_messages_send_pending
from logistics.services import (
    claims_file_not_back,
    claims_register_for_courier_liability,
    claims_register_waiting_return,
    intercept_refund_early,
    intercepts_flag_overdue,
    intercepts_open_for_waiting_tickets,
    kuaidi100_intercepts_send_pending,
    lost_parcels_remedy_pending,
    return_shipments_sync_from_tickets,
    shipments_declare_lost,
    shipments_sync_from_orders,
    team_lead_alerts_hand_over_pending,
)

# Seed 004: a refund-only parcel in transit longer than this is refunded first and claimed from the courier.
REFUND_FIRST_AFTER = timedelta(hours=48)


def intercepts_open(ctx: SweepContext) -> None:
    ctx.done("intercept_requested", intercepts_open_for_waiting_tickets(batch_size=ctx.batch_size))


def confirmed_intercepts_refund(ctx: SweepContext) -> None:
    confirmed = InterceptRequest.objects.filter(status=InterceptRequest.Status.CONFIRMED, ticket_id=OuterRef("pk"))
    waiting = AfterSalesTicket.objects.filter(state=TicketState.INTERCEPTING).filter(Exists(confirmed))
    note = _("The courier had confirmed the intercept; refunded by the refund sweep.")
    tickets_each(
        ctx,
        waiting,
        step="intercept_confirmed",
        counted_as="intercept_confirmed_refund",
        service=aftersales.ticket_intercept_confirmed,
        note=note,
    )


def long_in_transit_refund_first(ctx: SweepContext) -> None:
    on_the_road = Shipment.objects.filter(
        order_id=OuterRef("order_id"),
        direction=Shipment.Direction.OUTBOUND,
        status=Shipment.Status.IN_TRANSIT,
        shipped_at__lte=ctx.now - REFUND_FIRST_AFTER,
    )
    waiting = InterceptRequest.objects.filter(status=InterceptRequest.Status.REQUESTED, ticket_id=OuterRef("pk"))
    tickets = AfterSalesTicket.objects.filter(
        state=TicketState.INTERCEPTING, kind=TicketKind.REFUND_ONLY, order__delivered_at__isnull=True
    ).filter(Exists(on_the_road), Exists(waiting))
    note = _("Refund-only, parcel in transit over 48 hours: refunded first and claimed from the courier.")
    tickets_each(
        ctx, tickets, step="refund_first", counted_as="refund_first_claimed", service=intercept_refund_early, note=note
    )


def no_scan_check_run(*, batch_size: int | None = None, now=None) -> SweepRun:
    """Hourly (DESIGN §4): register the parcels of newly shipped orders and the buyers' returns, declare the quiet
    ones lost (48 h, 72 h to a remote province), give the buyers a lost message skipped their remedy, and send robot
    messages still waiting."""

    def sync(ctx):
        ctx.done("shipments_registered", shipments_sync_from_orders(batch_size=ctx.batch_size))
        ctx.done("return_shipments_registered", return_shipments_sync_from_tickets(batch_size=ctx.batch_size))

    def declare(ctx):
        result = shipments_declare_lost(now=ctx.now, batch_size=ctx.batch_size)
        ctx.done("declared_lost", result.declared)
        ctx.done("lost_claims", result.claims)

    def remedies(ctx):
        ctx.done("lost_remedies", lost_parcels_remedy_pending(batch_size=ctx.batch_size))

    def month_end(ctx):
        # 月底仓库核对: once a month is over, its claims still waiting for their parcel go to the courier.
        ctx.done("claims_not_back", claims_file_not_back(now=ctx.now))

    steps = [
        ("sync", sync),
        ("declare_lost", declare),
        ("remedies", remedies),
        ("month_end", month_end),
        ("robots", _robots),
    ]
    return sweep_run(SweepRun.Kind.NO_SCAN, steps, batch_size, now)


def intercept_follow_up_run(*, batch_size: int | None = None, now=None) -> SweepRun:
    """Every 15 minutes: intercepts past the courier's answer time are chased in its group and flagged to the agent
    (whichever channel asked: group robot or Kuaidi100), Kuaidi100 intercept orders left unsent are sent,
    cut-offs past the warehouse's 2 h are flagged to the agent;
    refunds on the courier's liability the ledger misses get their claim."""

    def overdue(ctx):
        ctx.done("intercepts_overdue", intercepts_flag_overdue(now=ctx.now, batch_size=ctx.batch_size))

    def kuaidi100(ctx):
        # Intercept orders whose task was lost are sent; one a lost worker took becomes “unknown”, never re-sent.
        ctx.done("kuaidi100_intercepts", kuaidi100_intercepts_send_pending(now=ctx.now, batch_size=ctx.batch_size))

    def cutoffs(ctx):
        # 截单 belongs to aftersales; the warehouse's late answers are chased on the intercepts' clock.
        ctx.done("cutoffs_overdue", aftersales.cutoffs_flag_overdue(now=ctx.now, batch_size=ctx.batch_size))

    def claims(ctx):
        ctx.done("liability_claims", claims_register_for_courier_liability(batch_size=ctx.batch_size, now=ctx.now))
        ctx.done("claims_waiting_return", claims_register_waiting_return(batch_size=ctx.batch_size, now=ctx.now))

    steps = [
        ("overdue", overdue),
        ("kuaidi100", kuaidi100),
        ("cutoffs_overdue", cutoffs),
        ("claims", claims),
        ("robots", _robots),
    ]
    return sweep_run(SweepRun.Kind.INTERCEPT_FOLLOW_UP, steps, batch_size, now)


def _robots(ctx: SweepContext) -> None:
    ctx.done("robot_messages_sent", robot_messages_send_pending(batch_size=ctx.batch_size))


def team_lead_alerts(ctx: SweepContext) -> None:
    """Complaint risks whose hand-over to the team robot was lost after their commit (seed 004)."""
    handed = team_lead_alerts_hand_over_pending(batch_size=ctx.batch_size)
    if handed:
        ctx.done("team_lead_alerted", handed)


STEPS = [
    ("intercepts_open", intercepts_open),
    ("intercept_confirmed", confirmed_intercepts_refund),
    ("refund_first", long_in_transit_refund_first),
    ("team_lead_alerts", team_lead_alerts),
]
