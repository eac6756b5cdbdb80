"""Row locks for the services, in one place. Lock a ticket before its children (refund, approval, cut-off) and
before its order, always in that order, so two services never wait on each other in a circle. Several rows of one
kind are locked in pk order. Other apps lock tickets, orders and shops only through these."""

from typing import TypeVar

from django.db.models import QuerySet

from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    Complaint,
    CutOffRequest,
    Order,
    OrderCorrection,
    Refund,
    RefundAuthority,
    RefundBatch,
    Shop,
)

# An order queryset may carry annotations (the import reads its after-sales flags); the rows keep their type.
_AnyOrder = TypeVar("_AnyOrder", bound=Order)


def ticket_for_update(ticket_id: int) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_for_update(of=("self",)).select_related("shop", "order").get(pk=ticket_id)


def order_for_update(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def refund_for_update(refund_id: int) -> Refund:
    return Refund.objects.select_for_update().get(pk=refund_id)


def approval_for_update(approval_id: int) -> ApprovalRequest:
    return ApprovalRequest.objects.select_for_update().get(pk=approval_id)


def cutoff_for_update(cutoff_id: int) -> CutOffRequest:
    return CutOffRequest.objects.select_for_update().get(pk=cutoff_id)


def free_cutoffs_for_update(cutoffs: QuerySet[CutOffRequest]) -> list[CutOffRequest]:
    """These cut-offs nobody else holds (SKIP LOCKED), with their ticket's order read, for a batch."""
    return list(
        cutoffs.select_related("ticket__order").select_for_update(of=("self",), skip_locked=True).order_by("pk")
    )


def order_correction_for_update(correction_id: int) -> OrderCorrection:
    return OrderCorrection.objects.select_for_update().get(pk=correction_id)


def shop_for_update(shop_id: int) -> Shop:
    return Shop.objects.select_for_update().get(pk=shop_id)


def free_ticket_ids_for_update(ticket_ids) -> set[int]:
    """Lock those of these tickets nobody else holds (SKIP LOCKED), in pk order; their ids."""
    return set(
        AfterSalesTicket.objects.filter(pk__in=list(ticket_ids))
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def free_tickets_for_update(tickets: QuerySet[AfterSalesTicket], *, limit: int) -> list[AfterSalesTicket]:
    """The first `limit` of these tickets nobody else holds (SKIP LOCKED); related rows are read, not locked."""
    return list(tickets.select_for_update(of=("self",), skip_locked=True).order_by("pk")[:limit])


def tickets_for_update(ticket_ids) -> list[AfterSalesTicket]:
    return list(AfterSalesTicket.objects.filter(pk__in=list(ticket_ids)).select_for_update().order_by("pk"))


def orders_for_update(orders: QuerySet[_AnyOrder]) -> list[_AnyOrder]:
    """These orders (their related rows read, not locked)."""
    return list(orders.select_for_update(of=("self",)).order_by("pk"))


def pending_order_correction_for_update(order: Order) -> OrderCorrection | None:
    """The order's correction waiting for a supervisor (at most one: order_correction_one_pending_per_order)."""
    return (
        OrderCorrection.objects.select_for_update()
        .filter(order=order, status=OrderCorrection.Status.PENDING)
        .order_by("pk")
        .first()
    )


def free_refund_ids_for_update(refunds: QuerySet[Refund]) -> list[tuple[int, int]]:
    """(refund id, ticket id) of these refunds, locked unless another transaction holds them (SKIP LOCKED)."""
    return list(refunds.select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list("pk", "ticket_id"))


def refund_batch_for_update(batch_id: int) -> RefundBatch:
    """The batch, and its shop's row with it."""
    return RefundBatch.objects.select_for_update().select_related("shop").get(pk=batch_id)


def refund_authority_for_update(*, shop: Shop, user=None, group=None) -> RefundAuthority | None:
    """The shop's authority of this user or of this group, if it has one."""
    whom = {"user": user} if user is not None else {"group": group}
    return RefundAuthority.objects.select_for_update().filter(shop=shop, **whom).order_by("pk").first()


def refund_authority_by_pk_for_update(authority_id: int) -> RefundAuthority | None:
    """The authority, and its shop's row with it."""
    return RefundAuthority.objects.select_for_update().select_related("shop").filter(pk=authority_id).first()


def complaint_for_update(complaint_id: int) -> Complaint:
    """The complaint, with its order read (not locked)."""
    return Complaint.objects.select_for_update(of=("self",)).select_related("order").get(pk=complaint_id)
