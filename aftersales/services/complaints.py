"""Complaints (投诉): a buyer's complaint about an order to the platform or a regulator, recorded by an agent (admin),
the API or a marketplace connector through `complaint_record`, the one door. Each write leaves an OrderEvent in its
transaction and marks the rolled-up days it moves (aftersales.signals.orders_changed)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects
from aftersales.models import AfterSalesTicket, Complaint, MerchantLiability, Order, OrderEvent
from aftersales.signals import orders_changed_send
from desk.access import WORK, require_in_shop
from desk.errors import ActionRefused

# A complaint's time may run a little ahead of our clock (the platform's or the connector's).
CLOCK_SKEW = timedelta(minutes=5)


def complaint_check(
    *, order: Order, ticket: AfterSalesTicket | None, opened_at: datetime, channel: str, liability: str
):
    if channel not in Complaint.Channel.values:
        raise ActionRefused("invalid_channel", _("Choose where the buyer complained."))
    if liability not in MerchantLiability.values:
        raise ActionRefused("invalid_liability", _("Choose whether it is the merchant's liability."))
    if ticket is not None and ticket.order_id != order.pk:
        raise ActionRefused("ticket_not_of_order", _("This ticket belongs to another order."))
    if timezone.is_naive(opened_at):
        raise ActionRefused("invalid_time", _("Give the complaint's time with its time zone."))
    if opened_at > timezone.now() + CLOCK_SKEW:
        raise ActionRefused("invalid_time", _("The complaint cannot be in the future."))
    if opened_at < order.paid_at:
        raise ActionRefused("invalid_time", _("The complaint cannot be earlier than the order's payment."))


def _record_event(complaint: Complaint, by, action_note: str) -> None:
    OrderEvent.objects.create(
        order=complaint.order,
        actor=by,
        action=OrderEvent.Action.COMPLAINT_RECORDED,
        changes={
            "complaint": {"old": "", "new": str(complaint.pk)},
            "channel": {"old": "", "new": complaint.channel},
            "liability": {"old": "", "new": complaint.liability},
        },
        reason=action_note,
    )


@transaction.atomic
def complaint_record(
    *,
    order: Order,
    by,
    opened_at: datetime,
    channel: str = Complaint.Channel.PLATFORM,
    liability: str = MerchantLiability.UNKNOWN,
    note: str = "",
    ticket: AfterSalesTicket | None = None,
    platform_complaint_id: str = "",
) -> tuple[Complaint, bool]:
    """Record a complaint on an order (and the ticket it is about, if any). With the platform's complaint id, a
    replay returns the complaint already recorded and writes nothing. Returns (complaint, created)."""
    require_in_shop(by, order.shop, WORK)
    platform_complaint_id = (platform_complaint_id or "").strip()
    if len(platform_complaint_id) > Complaint.PLATFORM_ID_LENGTH:
        raise ActionRefused("invalid_platform_id", _("The platform's complaint id has at most 64 characters."))
    if platform_complaint_id:
        found = Complaint.objects.filter(shop_id=order.shop_id, platform_complaint_id=platform_complaint_id).first()
        if found is not None:
            return found, False
    complaint_check(order=order, ticket=ticket, opened_at=opened_at, channel=channel, liability=liability)
    try:
        with transaction.atomic():
            complaint = Complaint.objects.create(
                shop_id=order.shop_id,
                order=order,
                ticket=ticket,
                platform_complaint_id=platform_complaint_id,
                opened_at=opened_at,
                channel=channel,
                liability=liability,
                note=(note or "").strip(),
                recorded_by=by,
            )
    except IntegrityError:
        # Another request recorded the same platform complaint id in the meantime.
        found = Complaint.objects.filter(shop_id=order.shop_id, platform_complaint_id=platform_complaint_id).first()
        if found is None:
            raise
        return found, False
    _record_event(complaint, by, complaint.note)
    orders_changed_send([order.pk])
    return complaint, True


@transaction.atomic
def complaint_set_liability(*, complaint: Complaint, by, liability: str, note: str = "") -> Complaint:
    """Record whether the complaint was judged the merchant's liability (the platform's verdict), with its event."""
    complaint = lock_objects.complaint_for_update(complaint.pk)
    require_in_shop(by, complaint.order.shop, WORK)
    if liability not in MerchantLiability.values:
        raise ActionRefused("invalid_liability", _("Choose whether it is the merchant's liability."))
    if liability == complaint.liability:
        return complaint
    old = complaint.liability
    complaint.liability = liability
    complaint.save(update_fields=["liability"])
    OrderEvent.objects.create(
        order=complaint.order,
        actor=by,
        action=OrderEvent.Action.COMPLAINT_RECORDED,
        changes={"liability": {"old": old, "new": liability}},
        reason=(note or "").strip(),
    )
    orders_changed_send([complaint.order_id])
    return complaint
