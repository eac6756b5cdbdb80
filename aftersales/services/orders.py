"""Order and shop writes: the order import's upsert, corrections of an order (held for a second supervisor when they
raise the paid amount of an order with after-sales), deliveries recorded from tracking, and who works in which shop.
Each service runs in one transaction and is the only door through which its change happens."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypedDict, cast

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from aftersales.lock_objects import (
    order_correction_for_update,
    order_for_update,
    orders_for_update,
    pending_order_correction_for_update,
)
from aftersales.models import (
    ZERO,
    AfterSalesTicket,
    Order,
    OrderCorrection,
    OrderEvent,
    OrderLine,
    Platform,
    Shop,
)
from aftersales.order_import import (
    HAS_OPEN_TICKET,
    LINE_FIELDS,
    ORDER_FIELDS,
    ImportPlan,
    PlannedOrder,
    RowError,
    below_refunded_message,
    line_changes,
)
from aftersales.signals import orders_changed_send
from desk.access import SHOP_PERMISSION, require_in_shop
from desk.errors import ActionRefused

# What a supervisor may correct on an order (the platform's figures and the fulfilment data), always with a reason.
CORRECTABLE_FIELDS = ("paid_amount", "packed_at", "shipped_at", "delivered_at", "courier_code", "tracking_number")
DATETIME_FIELDS = frozenset({"paid_at", "packed_at", "shipped_at", "delivered_at"})
TEXT_FIELDS = frozenset(
    {"buyer_nick", "receiver_name", "receiver_phone", "province", "city", "district", "address"}
    | {"courier_code", "tracking_number"}
)
CHANGE_ORDER = "aftersales.change_order"
# Confirming a correction is a supervisor's decision, as approving a refund above an agent's authority is.
DECIDE_CORRECTION = "aftersales.decide_approvalrequest"
_HAS_AFTER_SALES = Exists(AfterSalesTicket.objects.filter(order=OuterRef("pk")))


@transaction.atomic
def shop_set_members(*, shop: Shop, users, groups=()) -> None:
    """Make exactly these users and groups the ones assigned to the shop (guardian object permission)."""
    wanted_users = set(users)
    wanted_groups = set(groups)
    current_users = {p.user for p in shop.shopuserobjectpermission_set.select_related("user")}
    current_groups = {p.group for p in shop.shopgroupobjectpermission_set.select_related("group")}
    for user in wanted_users - current_users:
        assign_perm(SHOP_PERMISSION, user, shop)
    for user in current_users - wanted_users:
        remove_perm(SHOP_PERMISSION, user, shop)
    for group in wanted_groups - current_groups:
        assign_perm(SHOP_PERMISSION, group, shop)
    for group in current_groups - wanted_groups:
        remove_perm(SHOP_PERMISSION, group, shop)


def shop_assign_user(*, shop: Shop, user) -> None:
    assign_perm(SHOP_PERMISSION, user, shop)


@dataclass(frozen=True)
class HeldPaidAmount:
    """A paid amount an import or a push would have raised on an order that has tickets or refunds: not written,
    waiting as a pending correction for a supervisor's confirmation."""

    platform_order_id: str
    current: Decimal
    requested: Decimal
    correction: OrderCorrection


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    rejected_rows: int
    held: tuple[HeldPaidAmount, ...] = ()
    # Orders refused when written (the database changed since the preview), as row errors.
    refused: tuple[RowError, ...] = ()
    # Platform order ids of the updates left out because their order has an open ticket and they were not confirmed.
    skipped: tuple[str, ...] = ()


@transaction.atomic
def order_import_apply(
    *,
    plan: ImportPlan,
    by,
    reason: str,
    source: str = OrderCorrection.Source.IMPORT,
    apply_to_open_tickets: bool = True,
) -> ImportSummary:
    """Write the valid orders of a checked plan; bad rows were already set aside by `plan_order_import`.

    Upserts on (shop, platform order id) and (order, SKU), so importing the same file twice creates nothing new
    and two imports racing each other cannot duplicate an order. Lines missing from a re-import are kept: a ticket
    may already refer to them. The number of queries grows with batches of 500, not with rows.

    The orders that exist already are locked and checked again, as the database may have changed since the plan:
    a paid amount below what was refunded refuses that order; a paid amount that rises on an order with tickets or
    refunds is not written but becomes a pending correction (`reason` says where it came from) for another
    supervisor to confirm. Each change of an existing order, its lines' included, is written as an OrderEvent,
    old → new.

    With `apply_to_open_tickets` False (the admin's import, unless the importer confirmed those updates apart),
    an existing order with an open ticket is left as it is, and its platform order id is reported as skipped: an
    agent is working on it with its current lines and amounts.
    """
    to_write = plan.orders_to_write
    existing = _existing_orders_locked(plan.shop, [planned.platform_order_id for planned in to_write])
    writes: list[tuple[PlannedOrder, dict]] = []
    refused: list[RowError] = []
    raises: list[tuple[Order, Decimal]] = []
    events: list[OrderEvent] = []
    skipped: list[str] = []
    for planned in to_write:
        fields = dict(planned.fields)
        current = existing.get(planned.platform_order_id)
        if current is not None:
            if current.has_open_ticket and not apply_to_open_tickets:
                skipped.append(planned.platform_order_id)
                continue
            if fields["paid_amount"] < current.refunded_amount:
                message = below_refunded_message(current.refunded_amount)
                refused.extend(RowError(number, message, code="below_refunded") for number in planned.row_numbers)
                continue
            if fields["paid_amount"] > current.paid_amount and (
                current.has_after_sales or current.refunded_amount > ZERO
            ):
                raises.append((current, fields["paid_amount"]))
                fields["paid_amount"] = current.paid_amount
            diff = _diff(current, fields) | _lines_diff(current, planned.lines)
            if diff:
                events.append(
                    OrderEvent(
                        order=current,
                        actor=by,
                        action=OrderEvent.Action.UPDATED_BY_PLATFORM,
                        changes=diff,
                        reason=reason,
                    )
                )
        writes.append((planned, fields))
    if writes:
        # The days of the stored orders' times before the change, then (below) every written order's after it.
        orders_changed_send(
            [existing[planned.platform_order_id].pk for planned, _f in writes if planned.platform_order_id in existing],
            orders_written=True,
        )
        Order.objects.bulk_create(
            [
                Order(shop=plan.shop, platform_order_id=planned.platform_order_id, **fields)
                for planned, fields in writes
            ],
            update_conflicts=True,
            unique_fields=["shop", "platform_order_id"],
            update_fields=[*ORDER_FIELDS, "updated_at"],
            batch_size=500,
        )
        order_ids = _order_ids_by_platform_id(plan.shop, [planned.platform_order_id for planned, _fields in writes])
        OrderLine.objects.bulk_create(
            [
                OrderLine(order_id=order_ids[planned.platform_order_id], **line)
                for planned, _fields in writes
                for line in planned.lines
            ],
            update_conflicts=True,
            unique_fields=["order", "sku"],
            update_fields=["item_name", "quantity", "paid_amount"],
            batch_size=500,
        )
        orders_changed_send(order_ids.values(), orders_written=True)
    OrderEvent.objects.bulk_create(events, batch_size=500)
    held = tuple(
        HeldPaidAmount(
            platform_order_id=order.platform_order_id,
            current=order.paid_amount,
            requested=requested,
            correction=_request_correction(
                order=order, by=by, changes={"paid_amount": requested}, reason=reason, source=source
            ),
        )
        for order, requested in raises
    )
    written = [planned.status for planned, _fields in writes]
    refused_ids = {planned.platform_order_id for planned in to_write} - {
        planned.platform_order_id for planned, _fields in writes
    }
    refused_ids -= set(skipped)
    return ImportSummary(
        created=written.count(PlannedOrder.Status.NEW),
        updated=written.count(PlannedOrder.Status.UPDATED),
        # Unchanged but for a held raise counts as unchanged: nothing of it was written but the pending correction.
        unchanged=sum(
            1
            for planned in plan.orders
            if planned.status == PlannedOrder.Status.UNCHANGED and planned.platform_order_id not in refused_ids
        ),
        rejected_rows=len(plan.errors) + len(refused),
        held=held,
        refused=tuple(refused),
        skipped=tuple(skipped),
    )


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _AfterSalesFlags(TypedDict):
        has_after_sales: bool
        has_open_ticket: bool

    ExistingOrder = WithAnnotations[Order, _AfterSalesFlags]


def _existing_orders_locked(shop: Shop, platform_order_ids: list[str]) -> "dict[str, ExistingOrder]":
    """The orders of these ids that exist, locked (by pk, as every service locks), with whether any ticket or
    refund refers to them."""
    found: dict[str, ExistingOrder] = {}
    for start in range(0, len(platform_order_ids), 1000):
        chunk = platform_order_ids[start : start + 1000]
        orders = orders_for_update(
            Order.objects.filter(shop=shop, platform_order_id__in=chunk)
            .annotate(has_after_sales=_HAS_AFTER_SALES, has_open_ticket=HAS_OPEN_TICKET)
            .prefetch_related("lines")
        )
        found.update((order.platform_order_id, order) for order in orders)
    return found


def _order_ids_by_platform_id(shop: Shop, platform_order_ids: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(platform_order_ids), 1000):
        chunk = platform_order_ids[start : start + 1000]
        ids.update(Order.objects.filter(shop=shop, platform_order_id__in=chunk).values_list("platform_order_id", "id"))
    return ids


def shop_upsert(*, code: str, name: str, platform_code: str) -> Shop:
    platform = Platform.objects.get(code=platform_code)
    shop, _created = Shop.objects.update_or_create(code=code, defaults={"name": name, "platform": platform})
    return shop


@transaction.atomic
def orders_record_delivery(*, delivered: dict[int, datetime]) -> int:
    """Record the courier's signature (签收) on shipped orders that lack it, from tracking: {order id: signed at}.
    One read and one bulk write, however many orders; an order already marked delivered keeps its own time."""
    orders = orders_for_update(
        Order.objects.filter(pk__in=list(delivered), delivered_at__isnull=True, shipped_at__isnull=False).only(
            "pk", "delivered_at", "shipped_at"
        )
    )
    for order in orders:
        # shipped_at is set: the query reads shipped orders only.
        order.delivered_at = max(delivered[order.pk], cast(datetime, order.shipped_at))
    Order.objects.bulk_update(orders, ["delivered_at"])
    orders_changed_send([order.pk for order in orders])
    return len(orders)


# --- corrections ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectionOutcome:
    """What a correction did: the event of the changes applied now (None if nothing could be), and the pending
    correction holding a raise of the paid amount for another supervisor (None if there is none)."""

    event: OrderEvent | None
    pending: OrderCorrection | None


@transaction.atomic
def order_correct(*, order: Order, by, changes: dict, reason: str, confirmed_by=None) -> CorrectionOutcome:
    """Correct an order's paid amount or fulfilment data (CORRECTABLE_FIELDS), with a reason, as one OrderEvent.

    `by` needs change_order in the order's shop. Raising the paid amount of an order that has tickets or refunds is
    not applied: it becomes a pending OrderCorrection that another supervisor confirms (order_correction_decide),
    while the other changes apply at once. A paid amount below what was already refunded is refused, as is any
    value the order's constraints would refuse; then nothing is written. `confirmed_by`, when given, is the other
    supervisor who confirmed the raise (they need decide_approvalrequest in the shop and cannot be `by`).
    """
    reason = _require_reason(reason)
    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise ActionRefused(
            "not_correctable",
            _("These fields cannot be corrected: %(fields)s.") % {"fields": ", ".join(unknown)},
        )
    require_in_shop(by, order.shop, CHANGE_ORDER)
    if confirmed_by is not None:
        _require_confirmer(confirmed_by, requested_by=by, shop=order.shop)
    locked = order_for_update(order.pk)
    changed = _changed_fields(locked, changes)
    if not changed:
        raise ActionRefused("no_change", _("Nothing to correct: the order already has these values."))
    _check_order_values(locked, changed)
    pending = None
    if confirmed_by is None and _raises_paid_amount(locked, changed) and _has_after_sales(locked):
        pending = _request_correction(
            order=locked,
            by=by,
            changes={"paid_amount": changed.pop("paid_amount")},
            reason=reason,
            source=OrderCorrection.Source.ADMIN,
        )
    event = None
    if changed:
        event = _apply(locked, changed, by=by, reason=reason, confirmed_by=confirmed_by)
    return CorrectionOutcome(event=event, pending=pending)


@transaction.atomic
def order_correction_decide(*, correction: OrderCorrection, by, confirm: bool, note: str = "") -> OrderCorrection:
    """Confirm (apply) or decline a pending correction. Only another person than the one who asked, holding
    decide_approvalrequest in the shop. Confirming checks the values again: refunds may have grown meanwhile."""
    _require_confirmer(by, requested_by=correction.requested_by, shop=correction.shop)
    # The order before its correction, as order_correct locks them, so the two never wait on each other.
    order = order_for_update(correction.order_id)
    locked = order_correction_for_update(correction.pk)
    if locked.status != OrderCorrection.Status.PENDING:
        raise ActionRefused("already_decided", _("This correction has already been decided."))
    now = timezone.now()
    note = (note or "").strip()
    if confirm:
        changed = _changed_fields(order, {name: _parse(name, value["new"]) for name, value in locked.changes.items()})
        _check_order_values(order, changed)
        locked.confirm(by=by, at=now, note=note)
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if changed:
            _apply(order, changed, by=locked.requested_by, reason=locked.reason, confirmed_by=by, correction=locked)
    else:
        locked.decline(by=by, at=now, note=note)
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        OrderEvent.objects.create(
            order=order,
            actor=by,
            action=OrderEvent.Action.CORRECTION_DECLINED,
            changes=locked.changes,
            reason=note or locked.reason,
            correction=locked,
        )
    return locked


def below_refunded_refusal(refunded: Decimal) -> ActionRefused:
    return ActionRefused("below_refunded", below_refunded_message(refunded))


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("reason_required", _("Say why the order is corrected."))
    return reason


def _require_confirmer(by, *, requested_by, shop: Shop) -> None:
    if by.pk == requested_by.pk:
        raise ActionRefused("own_request", _("You cannot confirm your own correction; another supervisor must."))
    require_in_shop(by, shop, DECIDE_CORRECTION)


def _has_after_sales(order: Order) -> bool:
    return order.refunded_amount > ZERO or AfterSalesTicket.objects.filter(order=order).exists()


def _raises_paid_amount(order: Order, changed: dict) -> bool:
    return "paid_amount" in changed and changed["paid_amount"] > order.paid_amount


def _changed_fields(order: Order, changes: dict) -> dict:
    changed = {}
    for name, value in changes.items():
        if name in TEXT_FIELDS:
            value = (value or "").strip()
        if name == "courier_code":
            value = value.upper()  # as the import and the tracking pushes spell courier codes
        if value != getattr(order, name):
            changed[name] = value
    return changed


def _check_order_values(order: Order, changed: dict) -> None:
    """Refuse, in words, what the order's constraints would refuse as an IntegrityError."""
    paid = changed.get("paid_amount", order.paid_amount)
    if paid is None or paid < ZERO:
        raise ActionRefused("invalid_amount", _("The paid amount cannot be negative."))
    if paid < order.refunded_amount:
        raise below_refunded_refusal(order.refunded_amount)
    if "paid_amount" in changed and paid < order.paid_amount:
        lines_total = order.lines.aggregate(total=Sum("paid_amount"))["total"] or ZERO
        if lines_total > paid:
            raise ActionRefused(
                "below_lines",
                _("The lines' paid amounts add up to %(lines)s, more than the order's paid amount %(order)s.")
                % {"lines": lines_total, "order": paid},
            )
    shipped = changed.get("shipped_at", order.shipped_at)
    delivered = changed.get("delivered_at", order.delivered_at)
    if shipped is not None and shipped < order.paid_at:
        raise ActionRefused("invalid_time", _("The order was shipped before it was paid."))
    if delivered is not None and shipped is None:
        raise ActionRefused("invalid_time", _("A delivered order needs a shipping time."))
    if delivered is not None and delivered < shipped:
        raise ActionRefused("invalid_time", _("The order was delivered before it was shipped."))


def _apply(order: Order, changed: dict, *, by, reason: str, confirmed_by=None, correction=None) -> OrderEvent:
    """Write the changes on the locked order and their event, old → new."""
    diff = _diff(order, changed)
    orders_changed_send([order.pk], orders_written=True)  # the days of its times before the change
    for name, value in changed.items():
        setattr(order, name, value)
    order.save(update_fields=[*changed, "updated_at"])
    orders_changed_send([order.pk], orders_written=True)
    return OrderEvent.objects.create(
        order=order,
        actor=by,
        action=OrderEvent.Action.CORRECTED,
        changes=diff,
        reason=reason,
        confirmed_by=confirmed_by,
        correction=correction,
    )


def _request_correction(*, order: Order, by, changes: dict, reason: str, source: str) -> OrderCorrection:
    """A pending correction of the locked order. The same request again (a re-import of the file, a repeated push)
    finds the one waiting; a different one replaces it, so a supervisor always confirms the latest figure."""
    diff = _diff(order, changes)
    waiting = pending_order_correction_for_update(order)
    if waiting is not None:
        if waiting.changes == diff and waiting.requested_by_id == by.pk:
            return waiting
        waiting.supersede(at=timezone.now(), note=_("Replaced by a newer correction."))
        waiting.save(update_fields=["status", "decided_at", "decision_note"])
    correction = OrderCorrection.objects.create(
        order=order, shop_id=order.shop_id, source=source, changes=diff, reason=reason, requested_by=by
    )
    OrderEvent.objects.create(
        order=order,
        actor=by,
        action=OrderEvent.Action.CORRECTION_REQUESTED,
        changes=diff,
        reason=reason,
        correction=correction,
    )
    return correction


def _diff(order: Order, values: dict) -> dict:
    """{field: {"old": text, "new": text}} for the values that differ from the order's."""
    return {
        name: {"old": _as_text(getattr(order, name)), "new": _as_text(value)}
        for name, value in values.items()
        if getattr(order, name) != value
    }


def _lines_diff(order: Order, lines: list[dict]) -> dict:
    """The file's line changes as event entries, {"lines.<sku>.<field>": {"old", "new"}}; a new line's olds are
    None. Call with the order's lines prefetched."""
    stored = {line.sku: {name: getattr(line, name) for name in LINE_FIELDS} for line in order.lines.all()}
    return {
        f"lines.{sku}.{name}": {"old": _as_text(old), "new": _as_text(new)}
        for (sku, name), (old, new) in line_changes(stored, lines).items()
    }


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _parse(name: str, text):
    if text is None:
        return None
    if name in DATETIME_FIELDS:
        return parse_datetime(text)
    if name == "paid_amount":
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ActionRefused("invalid_amount", _("The paid amount cannot be negative.")) from None
    return text
