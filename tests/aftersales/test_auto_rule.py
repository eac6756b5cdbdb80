"""The path-1 rule (未发货仅退款) is one rule at both of its doors: a ticket that arrives (ticket_apply_auto_rules) and
the sweep's batches (auto_refunds_apply → refund_gate.refunds_start_automatic). The same tickets, worked once by each
door, end the same: the same refunds, the same ticket rows, the same events, the same cut-offs."""

from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django_fsm import ConcurrentTransition

from aftersales.models import AfterSalesTicket, CutOffRequest, Refund, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_apply_auto_rules
from aftersales.services.refund_gate import automatic_candidates
from aftersales.services.sweeps import SweepContext, auto_refunds_apply
from aftersales.services.ticket_events import tickets_move_in_bulk
from tests.factories import OrderFactory, ShopFactory, open_ticket

pytestmark = pytest.mark.django_db
S = TicketState

SERVICE_NOTE = "Not shipped: refunded by the shop's automatic rule (up to ¥100.00)."
SWEEP_NOTE = "Not shipped: refunded by the refund sweep under the shop's automatic rule (up to ¥100.00)."


def waiting_tickets() -> dict[str, AfterSalesTicket]:
    """One shop with the automatic rule up to ¥100, and path-1 tickets that arrived while it was off (so the rule has
    not acted on them yet), each a case of the rule:

    - eligible: ¥59 of a ¥59 order → a full refund of ¥59;
    - partial: ¥30 of a ¥80 order → a partial refund of ¥30;
    - over_cap: ¥150 of a ¥150 order → nothing (above the ¥100 cap);
    - packed: ¥59 of a packed ¥59 order → a cut-off, no refund yet;
    - already_refunded: ¥50 more on a ¥150 order the rule already refunded ¥60 of (while it was on) → nothing, since
      60 + 50 = 110 > 100 (though ¥90 of the order is left);
    - first and second: ¥50 each of one ¥80 order → the first (lower id) is refunded in full of its ¥50 (a partial of
      the order), the second finds only ¥30 left of the order → nothing;
    - shipped: a ticket opened before the order shipped, the order shipped since → nothing (the agent's call);
    - return: a return-and-refund ticket on an unshipped order (not refund only) → nothing.
    """
    shop = ShopFactory(auto_refund_enabled=True, auto_refund_max_amount=Decimal("100.00"))
    refunded_order = OrderFactory(shop=shop, paid_amount=Decimal("150.00"))
    earlier = open_ticket(refunded_order, requested_amount="60.00")
    assert earlier.state == S.REFUNDING  # the rule paid ¥60 on arrival
    shop.auto_refund_enabled = False
    shop.save()
    shared = OrderFactory(shop=shop, paid_amount=Decimal("80.00"))
    shipped_order = OrderFactory(shop=shop, paid_amount=Decimal("59.00"))
    tickets = {
        "eligible": open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("59.00")), requested_amount="59.00"),
        "partial": open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("80.00")), requested_amount="30.00"),
        "over_cap": open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("150.00")), requested_amount="150.00"),
        "packed": open_ticket(
            OrderFactory(shop=shop, paid_amount=Decimal("59.00"), packed_at=timezone.now()), requested_amount="59.00"
        ),
        "already_refunded": open_ticket(refunded_order, requested_amount="50.00"),
        "first": open_ticket(shared, requested_amount="50.00"),
        "second": open_ticket(shared, requested_amount="50.00"),
        "shipped": open_ticket(shipped_order, requested_amount="59.00"),
        "return": open_ticket(
            OrderFactory(shop=shop, paid_amount=Decimal("59.00")),
            kind=TicketKind.RETURN_REFUND,
            requested_amount="59.00",
        ),
    }
    shipped_order.shipped_at = timezone.now()
    shipped_order.save()
    shop.auto_refund_enabled = True
    shop.save()
    assert {ticket.state for ticket in tickets.values()} == {S.REQUESTED}
    return tickets


def outcome(tickets: dict[str, AfterSalesTicket], since: int) -> dict:
    """Everything the rule may write, per case, with ids made relative to the ticket (the two worlds differ only in
    their ids), and the events' notes apart (each door says which it was)."""
    result = {}
    for name, ticket in tickets.items():
        row = AfterSalesTicket.objects.get(pk=ticket.pk)
        refunds = [
            (refund.kind, refund.amount, refund.status, refund.requested_by.username, refund.idempotency_key)
            for refund in Refund.objects.filter(ticket=row).order_by("pk")
        ]
        events = TicketEvent.objects.filter(ticket=row, pk__gt=since).order_by("pk")
        result[name] = {
            "ticket": (row.state, row.path, row.kind, row.attention_note, row.refund_attempt, row.requested_amount),
            "refunds": [(*refund[:4], refund[4].replace(f"ticket-{row.pk}-", "ticket-N-")) for refund in refunds],
            "events": [
                (event.action, event.from_state, event.to_state, event.amount, event.actor.username) for event in events
            ],
            "notes": [event.note for event in events if event.action == "auto_refund"],
            "cutoffs": list(CutOffRequest.objects.filter(ticket=row).values_list("status", flat=True)),
        }
    return result


def last_event() -> int:
    return TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("batch_size", [2, 200])
@translation.override("en")
def test_the_ticket_service_and_the_sweep_apply_the_same_path_one_rule(batch_size):
    by_service = waiting_tickets()
    mark = last_event()
    for ticket in sorted(by_service.values(), key=lambda ticket: ticket.pk):
        ticket_apply_auto_rules(ticket=ticket)
    service = outcome(by_service, mark)

    by_sweep = waiting_tickets()
    mark = last_event()
    auto_refunds_apply(SweepContext(now=timezone.now(), batch_size=batch_size, by=system_user()))
    sweep = outcome(by_sweep, mark)

    system = system_user().username
    # The expected outcome, worked by hand from the cases in waiting_tickets' docstring.
    refunded = {"eligible": ("full", "59.00"), "partial": ("partial", "30.00"), "first": ("partial", "50.00")}
    for name, (kind, amount) in refunded.items():
        assert service[name]["ticket"][0] == S.REFUNDING
        assert service[name]["refunds"] == [(kind, Decimal(amount), "pending", system, "ticket-N-attempt-0")]
        assert service[name]["events"] == [("auto_refund", S.REQUESTED, S.REFUNDING, Decimal(amount), system)]
    assert service["packed"]["ticket"][0] == S.INTERCEPTING
    assert service["packed"]["cutoffs"] == ["requested"]
    assert service["packed"]["events"] == [("cutoff_requested", S.REQUESTED, S.INTERCEPTING, None, system)]
    for name in ("over_cap", "already_refunded", "second", "shipped", "return"):
        case = service[name]
        assert (case["ticket"][0], case["refunds"], case["events"]) == (S.REQUESTED, [], []), name
    # Each door words its event; the rule's cap is in both.
    assert {note for case in service.values() for note in case.pop("notes")} == {SERVICE_NOTE}
    assert {note for case in sweep.values() for note in case.pop("notes")} == {SWEEP_NOTE}
    assert sweep == service


def test_the_sweeps_filter_finds_every_ticket_the_rule_would_act_on():
    """The filter is the rule's conditions that the database can check, for speed; it must never hide a ticket the
    rule refunds or cuts off (the cases above: eligible, partial, packed, first), and it leaves out those whose kind,
    shipping or shop's switch rule them out without looking further."""
    tickets = waiting_tickets()

    found = set(AfterSalesTicket.objects.filter(automatic_candidates()).values_list("pk", flat=True))

    names = {name for name, ticket in tickets.items() if ticket.pk in found}
    assert {"eligible", "partial", "packed", "first"} <= names
    assert names.isdisjoint({"shipped", "return"})


def test_the_batch_moves_a_ticket_only_from_its_transitions_source():
    """The batch's update is guarded by the transition's source as a save() is by ConcurrentTransitionMixin: a row
    that left `requested` after the batch read it (impossible under the batch's lock; here changed underneath) makes
    the batch fail whole rather than write an event for a move that did not happen."""
    tickets = waiting_tickets()
    ticket = AfterSalesTicket.objects.select_related("order", "shop").get(pk=tickets["eligible"].pk)
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(state=S.CANCELLED)
    mark = last_event()

    with pytest.raises(ConcurrentTransition):
        tickets_move_in_bulk(
            [(ticket, Decimal("59.00"), "note")],
            system_user(),
            "auto_refund",
            "refund_automatically",
            at=timezone.now(),
            paid=True,
        )

    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == S.CANCELLED
    assert not TicketEvent.objects.filter(pk__gt=mark).exists()
