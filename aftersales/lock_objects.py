"""Row locks for the services, in one place. Lock a ticket before its children (refund, approval, cut-off) and
before its order, always in that order, so two services never wait on each other in a circle."""

from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    Order,
    OrderCorrection,
    Refund,
    Shop,
)


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


def order_correction_for_update(correction_id: int) -> OrderCorrection:
    return OrderCorrection.objects.select_for_update().get(pk=correction_id)


def shop_for_update(shop_id: int) -> Shop:
    return Shop.objects.select_for_update().get(pk=shop_id)
