"""Opening many requests at once (a marketplace's pulled page): the rows, events and rules of ticket_open_or_find,
written set-wise."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.models import AfterSalesTicket, EscalationAlert, Refund, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import OpenRequest, ticket_open_or_find, tickets_open_bulk
from tests.factories import OrderFactory, delivered_order, make_staff, reason

pytestmark = pytest.mark.django_db

# What the ticket's own columns say, without its id, order, clocks and the order's number in a note.
COMPARED = [
    "kind",
    "platform_kind",
    "path",
    "state",
    "first_reason_id",
    "reason_id",
    "liability",
    "requested_amount",
    "buyer_message",
    "escalation_risk",
    "deadline_source",
    "return_proposal",
    "attention_note",
]


def requests_of_every_sort(shop) -> list[OpenRequest]:
    def order(**kwargs):
        return delivered_order(shop=shop, paid_amount=Decimal("99.00"), **kwargs)

    return [
        OpenRequest(order=order(), kind=TicketKind.RETURN_REFUND, reason=reason("quality_defect")),
        OpenRequest(order=order(), kind=TicketKind.REFUND_ONLY, reason=reason(), requested_amount="20.00"),
        OpenRequest(order=order(), kind="unknown", reason=reason(), platform_kind="7"),
        OpenRequest(order=order(), kind=TicketKind.EXCHANGE, reason=reason(), buyer_message="不换就给差评"),
        # Path 1 within the cap: the automatic rule refunds it, as after a single opening.
        OpenRequest(order=OrderFactory(shop=shop, paid_amount=Decimal("30.00")), kind="refund_only", reason=reason()),
    ]


def seen(ticket) -> tuple:
    events = ticket.events.order_by("at", "id").values_list("action", "actor", "from_state", "to_state", "amount")
    refunds = ticket.refunds.values_list("amount", "kind", "status")
    return (
        *(getattr(ticket, name) for name in COMPARED),
        list(events),
        list(refunds),
        EscalationAlert.objects.filter(ticket=ticket).count(),
    )


def test_a_batch_writes_the_rows_and_events_one_by_one_opening_writes():
    shop = delivered_order().shop
    by = system_user()
    alone = [ticket_open_or_find(by=by, **vars(request))[0] for request in requests_of_every_sort(shop)]

    outcomes = tickets_open_bulk(requests=requests_of_every_sort(shop), by=by)

    assert [(outcome.opened, outcome.refusal) for outcome in outcomes] == [(True, None)] * 5
    for outcome, ticket in zip(outcomes, alone, strict=True):
        outcome.ticket.refresh_from_db()
        assert seen(outcome.ticket) == seen(ticket)
    assert outcomes[4].ticket.state == TicketState.REFUNDING
    assert EscalationAlert.objects.filter(ticket=outcomes[3].ticket).count() == 1


def test_a_known_platform_id_a_repeat_and_a_refused_request_write_nothing_new():
    order, other, third = delivered_order(), delivered_order(), delivered_order()
    by = system_user()
    known, _opened = ticket_open_or_find(
        order=order, kind="return_refund", reason=reason(), by=by, platform_ticket_id="R1"
    )
    agent = make_staff("outsider", role="Agent")
    requests = [
        OpenRequest(order=order, kind="return_refund", reason=reason(), platform_ticket_id="R1"),
        OpenRequest(order=other, kind="return_refund", reason=reason(), platform_ticket_id="R2"),
        OpenRequest(order=other, kind="return_refund", reason=reason(), platform_ticket_id="R2"),
        OpenRequest(order=third, kind="return_refund", reason=reason(), requested_amount="100000.00"),
    ]

    outcomes = tickets_open_bulk(requests=requests, by=by)
    refused = tickets_open_bulk(requests=[requests[3]], by=agent)

    assert (outcomes[0].ticket, outcomes[0].opened) == (known, False)
    assert outcomes[1].opened
    assert not outcomes[2].opened
    assert outcomes[2].ticket == outcomes[1].ticket
    assert outcomes[3].ticket is None
    assert outcomes[3].refusal.code == "over_paid"
    assert refused[0].refusal.code in {"not_permitted", "other_shop"}
    assert AfterSalesTicket.objects.count() == 2
    assert known.events.count() == 1
    assert not Refund.objects.exists()


def test_a_batch_of_100_costs_the_queries_of_a_batch_of_10():
    shop = delivered_order().shop
    by = system_user()

    def queries(count: int) -> int:
        requests = [
            OpenRequest(order=delivered_order(shop=shop), kind="return_refund", reason=reason(), buyer_message="快点")
            for _ in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            outcomes = tickets_open_bulk(requests=requests, by=by)
        assert all(outcome.opened for outcome in outcomes)
        return len(captured)

    assert queries(10) == queries(100)
    assert AfterSalesTicket.objects.filter(shop=shop).count() == 110
