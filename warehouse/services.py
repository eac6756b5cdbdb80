"""Warehouse writes: receive a scanned return (or keep an unexpected one for an agent to match), inspect it with
evidence, record a return's first courier scan, send early exchanges. The cut-offs the warehouse answers are
aftersales' services (cutoff_confirm_hold, cutoff_mark_gone), called from the warehouse's page.

Each service checks the clerk's shop and permission, records what the warehouse did, and moves the ticket only
through aftersales' services, in the same transaction.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects as aftersales_locks
from aftersales import return_tracking
from aftersales import services as aftersales_services
from aftersales.models import AfterSalesTicket, GoodsState, TicketKind, TicketState
from aftersales.selectors import system_user, user_works_in_shop
from desk.access import HANDLE_RETURNS, WORK, require_in_shop
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number
from warehouse import lock_objects
from warehouse.evidence import check_evidence_upload
from warehouse.models import EarlyExchange, EarlyExchangeRule, Evidence, Inspection, InspectionLine, ReturnParcel
from warehouse.selectors import return_tickets_awaiting_scan


@dataclass(frozen=True)
class ScanResult:
    """What a scan found: a parcel (new receipt or the earlier one) or nothing known."""

    parcel: ReturnParcel | None
    already_received: bool = False
    # An intercepted or lost parcel back home: the claims its scan withdrew (月底仓库核对).
    claims_withdrawn: int = 0


@transaction.atomic
def return_receive_scan(*, tracking_number: str, by) -> ScanResult:
    """The clerk scanned a returned parcel: find its ticket in the clerk's shops and mark the return received.

    A second scan of the same parcel finds the first receipt and changes nothing. An unknown number returns an
    empty result: the page then offers to register it as unexpected.
    """
    number = normalise_tracking_number(tracking_number)
    if not number:
        raise ActionRefused("tracking_required", _("Scan or type the tracking number."))
    if not by.is_active or not by.has_perm(HANDLE_RETURNS):
        raise ActionRefused("not_permitted", _("Your role does not allow this."))
    known = ReturnParcel.objects.select_related("ticket__order", "shop").filter(tracking_number=number)
    for parcel in known:
        if user_works_in_shop(by, parcel.shop_id) and parcel.status != ReturnParcel.Status.EXPECTED:
            return ScanResult(parcel=parcel, already_received=True)
    tickets = list(return_tickets_awaiting_scan(user=by, tracking_number=number)[:2])
    if not tickets:
        expected = [parcel for parcel in known if user_works_in_shop(by, parcel.shop_id)]
        if not expected:
            withdrawn = return_tracking.parcel_back_at_warehouse(tracking_number=number, by=by)
            return ScanResult(parcel=None, claims_withdrawn=withdrawn)
        tickets = [expected[0].ticket] if expected[0].ticket else []
        if not tickets:
            return ScanResult(parcel=expected[0], already_received=True)
    ticket = tickets[0]
    parcel, _created = ReturnParcel.objects.get_or_create(
        shop_id=ticket.shop_id,
        tracking_number=number,
        defaults={"ticket": ticket, "courier_code": ticket.return_courier_code},
    )
    parcel = lock_objects.return_parcel_for_update(parcel.pk)
    if parcel.status != ReturnParcel.Status.EXPECTED:
        return ScanResult(parcel=parcel, already_received=True)
    now = timezone.now()
    parcel.receive(by=by, at=now)
    parcel.save()
    if ticket.state == TicketState.AWAITING_RETURN:
        # The buyer never entered the tracking number in the app, but the parcel is here: record both moves. The
        # shipment is inferred, so the system records it (a clerk may not enter tracking numbers: work_ticket).
        aftersales_services.ticket_return_shipped(
            ticket=ticket, by=system_user(), courier_code=ticket.return_courier_code, tracking_number=number
        )
    aftersales_services.ticket_return_received(ticket=ticket, by=by)
    ticket.refresh_from_db()
    if aftersales_services.refund_on_receipt_applies(ticket):
        # 无法验货则直接退款 (seed 000): the shop does not wait for an inspection of this return.
        aftersales_services.ticket_refund_on_receipt(ticket=ticket, by=by)
    return ScanResult(parcel=parcel)


@transaction.atomic
def return_register_unexpected(*, tracking_number: str, shop, by, note: str = "") -> ReturnParcel:
    """A parcel came back that no ticket expects: keep it on record, received, for an agent to match."""
    require_in_shop(by, shop, HANDLE_RETURNS)
    number = normalise_tracking_number(tracking_number)
    if not number:
        raise ActionRefused("tracking_required", _("Scan or type the tracking number."))
    return_tracking.parcel_back_at_warehouse(tracking_number=number, by=by)
    parcel = ReturnParcel(shop=shop, tracking_number=number, note=note)
    parcel.receive(by=by, at=timezone.now())
    try:
        with transaction.atomic():
            parcel.save()
    except IntegrityError as error:
        raise ActionRefused("already_registered", _("This parcel is already registered.")) from error
    return parcel


@transaction.atomic
def return_parcel_match(*, parcel: ReturnParcel, ticket: AfterSalesTicket, by) -> ReturnParcel:
    """An agent matches an unexpected parcel to its ticket; the ticket then counts the return as received."""
    require_in_shop(by, ticket.shop, WORK)
    parcel = lock_objects.return_parcel_for_update(parcel.pk)
    if parcel.ticket_id:
        raise ActionRefused("already_matched", _("This parcel already belongs to a ticket."))
    if parcel.shop_id != ticket.shop_id:
        raise ActionRefused("other_shop", _("The parcel and the ticket belong to different shops."))
    existing = ReturnParcel.objects.filter(ticket=ticket).first()
    if existing:
        raise ActionRefused(
            "ticket_has_parcel",
            _("This ticket already expects the return %(number)s; check which parcel is the buyer's.")
            % {"number": existing.tracking_number},
        )
    parcel.ticket = ticket
    parcel.save(update_fields=["ticket"])
    if ticket.state == TicketState.AWAITING_RETURN:
        aftersales_services.ticket_return_shipped(
            ticket=ticket, by=by, courier_code=parcel.courier_code, tracking_number=parcel.tracking_number
        )
    if ticket.state in (TicketState.AWAITING_RETURN, TicketState.RETURN_IN_TRANSIT):
        ticket.refresh_from_db()
        # The warehouse signed for the parcel when it registered it; the agent who matches it may not receive
        # returns (handle_returns), so the system records the receipt.
        aftersales_services.ticket_return_received(ticket=ticket, by=system_user())
    return parcel


@transaction.atomic
def inspection_record(
    *, parcel: ReturnParcel, by, result: str, notes: str = "", quantities: dict | None = None, files=()
) -> Inspection:
    """Record the inspection and let its outcome drive the ticket: clean → the refund the returned goods owe, through
    aftersales' gate (an exchange resolves); abnormal → back in front of the agent with the evidence, ready for a
    rejection that cites it."""
    parcel = lock_objects.return_parcel_with_ticket_for_update(parcel.pk)
    require_in_shop(by, parcel.shop, HANDLE_RETURNS)
    if result not in Inspection.Result.values:
        raise ActionRefused("invalid_result", _("Choose the inspection result."))
    if parcel.status != ReturnParcel.Status.RECEIVED:
        raise ActionRefused("not_received", _("Only a received, not yet inspected parcel can be inspected."))
    if parcel.ticket is None:
        raise ActionRefused("unmatched", _("This parcel has no ticket yet; an agent must match it first."))
    checked = [(upload, check_evidence_upload(upload)) for upload in files]
    if result != Inspection.Result.OK and not checked:
        raise ActionRefused("evidence_required", _("An abnormal return needs at least one photo or video."))
    lines = {line.pk: line for line in parcel.ticket.order.lines.all()}
    received = {}
    for line_id, quantity in (quantities or {}).items():
        line = lines.get(int(line_id)) if str(line_id).isdigit() else None
        if line is None or not isinstance(quantity, int) or not 0 <= quantity <= line.quantity:
            raise ActionRefused("invalid_quantity", _("Enter for each item a quantity between 0 and what was sold."))
        received[line.pk] = quantity
    inspection = Inspection.objects.create(parcel=parcel, result=result, notes=notes, inspected_by=by)
    InspectionLine.objects.bulk_create(
        InspectionLine(inspection=inspection, order_line_id=line_id, quantity_received=quantity)
        for line_id, quantity in received.items()
    )
    parcel.mark_inspected(at=inspection.inspected_at)
    parcel.save()
    ticket = parcel.ticket
    if inspection.is_clean and aftersales_services.was_refunded_on_receipt(ticket):
        pass  # refunded when it was scanned in: a clean inspection only confirms it
    elif inspection.is_clean:
        aftersales_services.ticket_inspection_passed(ticket=ticket, by=by, note=notes)
    else:
        summary = _("Inspection: %(result)s, %(count)d evidence file(s). %(notes)s") % {
            "result": inspection.get_result_display(),
            "count": len(checked),
            "notes": notes,
        }
        aftersales_services.ticket_flag_for_agent(ticket=ticket, by=by, note=summary.strip())
    # Files last, once every rule has said yes; if storing one fails, the ones already stored are removed.
    _store_evidence(inspection, by, checked)
    return inspection


def _store_evidence(inspection, by, checked) -> None:
    stored = []
    try:
        for upload, facts in checked:
            evidence = Evidence(
                inspection=inspection,
                kind=facts.kind,
                content_type=facts.content_type,
                extension=facts.extension,
                size=facts.size,
                sha256=facts.sha256,
                original_name=upload.name[:255],
                uploaded_by=by,
            )
            evidence.file.save(upload.name, upload, save=False)
            if evidence.file.name:  # always, once save() has stored the file
                stored.append(evidence.file.name)
            evidence.save()
    except Exception:
        for name in stored:
            Evidence.file.field.storage.delete(name)
        raise


def early_exchange_allowed(ticket: AfterSalesTicket) -> tuple[bool, str]:
    """Whether the shop's 提前换出 rule lets this exchange's replacement go out now, and if not, why."""
    rule = EarlyExchangeRule.objects.filter(shop_id=ticket.shop_id, is_enabled=True).first()
    if rule is None:
        return False, _("This shop does not send exchanges early.")
    if ticket.kind != TicketKind.EXCHANGE or ticket.order.goods_state != GoodsState.DELIVERED:
        return False, _("Only an exchange of delivered goods can be sent early.")
    lines = list(ticket.order.lines.all())
    if len(lines) != 1 or lines[0].quantity != 1:
        return False, _("Only single-item orders are exchanged early.")
    if ticket.order.paid_amount > rule.max_price:
        return False, _("The order is above ¥%(price)s, the shop's limit for early exchanges.") % {
            "price": rule.max_price
        }
    parcel = ReturnParcel.objects.filter(ticket=ticket).first()
    if parcel is None or parcel.first_scan_at is None:
        return False, _("The buyer's return has no courier scan yet.")
    return True, ""


@transaction.atomic
def early_exchange_send(*, ticket: AfterSalesTicket, by, note: str = "") -> EarlyExchange:
    """Send the replacement now; the return stays expected and visible until it arrives."""
    ticket = aftersales_locks.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if EarlyExchange.objects.filter(ticket=ticket).exists():
        raise ActionRefused("already_sent", _("The replacement was already sent early."))
    allowed, why = early_exchange_allowed(ticket)
    if not allowed:
        raise ActionRefused("early_exchange_refused", why)
    parcel = ReturnParcel.objects.get(ticket=ticket)
    aftersales_services.ticket_record_early_replacement(ticket=ticket, by=by, note=note)
    return EarlyExchange.objects.create(ticket=ticket, parcel=parcel, shop_id=ticket.shop_id, sent_by=by)


@transaction.atomic
def return_parcel_record_scan(*, ticket: AfterSalesTicket, by, scanned_at=None) -> ReturnParcel:
    """The buyer's return has a courier scan: logistics' tracking reports it (return_tracking_record), or an agent
    records it by hand from the return parcels' admin when the return has no tracking. The first scan stands."""
    ticket = aftersales_locks.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if not ticket.return_tracking_number:
        raise ActionRefused("tracking_required", _("The ticket has no return tracking number yet."))
    parcel, _created = ReturnParcel.objects.get_or_create(
        shop_id=ticket.shop_id,
        tracking_number=normalise_tracking_number(ticket.return_tracking_number),
        defaults={"ticket": ticket, "courier_code": ticket.return_courier_code},
    )
    if parcel.first_scan_at is None:
        parcel.first_scan_at = scanned_at or timezone.now()
        parcel.save(update_fields=["first_scan_at"])
    return parcel


@transaction.atomic
def return_parcel_record_signature(*, ticket: AfterSalesTicket, by, signed_at) -> ReturnParcel:
    """The courier signed for the buyer's return at our address (退货物流签收): the moment the return starts waiting on
    the merchant (退货退款自主完结时长, seed 004), often before the clerk scans it. The return's tracking calls this;
    the first signature stands."""
    parcel = return_parcel_record_scan(ticket=ticket, by=by, scanned_at=signed_at)
    if parcel.signed_at is None:
        parcel.signed_at = signed_at
        parcel.save(update_fields=["signed_at"])
        # From the signature the platform's receipt_confirm_days run (超时自动退款): the ticket's deadline.
        aftersales_services.ticket_return_signed(ticket=ticket, by=by, signed_at=signed_at)
    return parcel


def return_tracking_record(*, ticket: AfterSalesTicket, at, signed: bool) -> None:
    """Logistics' tracking saw the buyer's return (registered in WarehouseConfig.ready through
    aftersales.return_tracking): its first scan, which 提前换出 waits for, or the courier's signature at our address.
    Recorded as the system; without tracking an agent records the scan by hand (return_parcel_record_scan)."""
    if signed:
        return_parcel_record_signature(ticket=ticket, by=system_user(), signed_at=at)
    else:
        return_parcel_record_scan(ticket=ticket, by=system_user(), scanned_at=at)


def early_exchange_rule_set(*, shop, is_enabled: bool, max_price) -> EarlyExchangeRule:
    """The shop's 提前换出 rule (the admin edits it too); used by the demo and set-up scripts."""
    rule, _created = EarlyExchangeRule.objects.update_or_create(
        shop=shop, defaults={"is_enabled": is_enabled, "max_price": max_price}
    )
    return rule
