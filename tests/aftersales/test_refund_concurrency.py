"""Concurrent clicks cannot refund twice or more than was paid: threads, each with its own PostgreSQL connection,
start together at a barrier and race the services (and, last, the bare table) for the same money."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection
from django.db.models import Sum

from aftersales.models import ZERO, AfterSalesTicket, ApprovalRequest, Order, Refund, TicketEvent, TicketState
from aftersales.selectors import system_user
from aftersales.services import approval_decide, ticket_approve_refund, ticket_request_approval
from desk.errors import ActionRefused
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.slow

THREADS = 20


def race(calls) -> list[tuple[str, object]]:
    """Run each call in its own thread, all released at once; return ("ok", result) / ("refused", code) per call.

    Any other exception is returned as ("error", repr) so the test shows it instead of a thread dying silently.
    """
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object] | None] = [None] * len(calls)

    def run(index, call):
        try:
            connection.ensure_connection()  # connect before the start, so the race is on the rows, not on connecting
            barrier.wait(timeout=30)
            results[index] = ("ok", call())
        except ActionRefused as refusal:
            results[index] = ("refused", refusal.code)
        except Exception as error:  # reported back to the test
            results[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting: a deadlock?"
    errors = [result for result in results if result is None or result[0] == "error"]
    assert not errors, errors
    return results


def outcomes(results, kind):
    return [value for outcome, value in results if outcome == kind]


def live_refunds_of(order) -> Decimal:
    return Refund.objects.filter(order=order).exclude(status="failed").aggregate(s=Sum("amount"))["s"] or ZERO


@pytest.fixture
def shop(reference_data):
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(user, shop, "1000.00")
    return user


def test_twenty_clicks_on_refund_make_exactly_one_refund(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("199.00"))
    ticket = open_ticket(order, requested_amount="120.00")
    agents = [agent] + [make_staff(f"agent{n}", role="Agent", shops=[shop]) for n in range(1, THREADS)]
    grant_authority(Group.objects.get(name="Agent"), shop, "1000.00")

    results = race([lambda by=by: ticket_approve_refund(ticket=ticket, by=by, amount="120.00") for by in agents])

    decisions = outcomes(results, "ok")
    assert len(decisions) == 1
    assert outcomes(results, "refused") == ["wrong_state"] * (THREADS - 1)
    refund = Refund.objects.get(ticket=ticket)
    assert refund == decisions[0].refund
    assert refund.amount == Decimal("120.00")
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("120.00")
    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.REFUNDING
    assert TicketEvent.objects.filter(ticket=ticket, action="refund_approved").count() == 1


def test_twenty_replays_of_one_idempotency_key_make_exactly_one_refund(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("199.00"))
    ticket = open_ticket(order, requested_amount="120.00")

    results = race(
        [lambda: ticket_approve_refund(ticket=ticket, by=agent, amount="120.00", idempotency_key="req-1")] * THREADS
    )

    refund = Refund.objects.get(ticket=ticket)
    assert refund.idempotency_key == "req-1"
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("120.00")
    # The first refunds; every replay, including one that waited on the ticket's lock, gets that refund back.
    decisions = outcomes(results, "ok")
    assert len(decisions) == THREADS
    assert sum(not decision.replayed for decision in decisions) == 1
    assert all(decision.refund == refund for decision in decisions)
    assert outcomes(results, "refused") == []


def test_twenty_supervisors_approving_one_request_make_exactly_one_refund(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("800.00"))
    ticket = open_ticket(order, requested_amount="600.00")
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="600.00", reason="大客户")
    supervisors = [make_staff(f"supervisor{n}", role="Supervisor", shops=[shop]) for n in range(THREADS)]
    for supervisor in supervisors:
        grant_authority(supervisor, shop, "5000.00")

    results = race(
        [lambda by=by: approval_decide(approval=approval, by=by, approve=True, note="同意") for by in supervisors]
    )

    assert len(outcomes(results, "ok")) == 1
    assert outcomes(results, "refused") == ["already_decided"] * (THREADS - 1)
    approval.refresh_from_db()
    assert approval.status == "approved"
    assert approval.decided_by in supervisors
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.amount, refund.requested_by, refund.idempotency_key) == (
        Decimal("600.00"),
        approval.decided_by,
        f"approval-{approval.pk}",
    )
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("600.00")
    assert TicketEvent.objects.filter(ticket=ticket, action="approval_approved").count() == 1


def test_approving_and_declining_at_once_decides_once(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("800.00"))
    ticket = open_ticket(order, requested_amount="600.00")
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="600.00")
    supervisors = [make_staff(f"supervisor{n}", role="Supervisor", shops=[shop]) for n in range(THREADS)]
    grant_authority(Group.objects.get(name="Supervisor"), shop, "5000.00")

    results = race(
        [
            lambda by=by, n=n: approval_decide(approval=approval, by=by, approve=n % 2 == 0, note="决定")
            for n, by in enumerate(supervisors)
        ]
    )

    assert len(outcomes(results, "ok")) == 1
    assert outcomes(results, "refused") == ["already_decided"] * (THREADS - 1)
    approval.refresh_from_db()
    ticket.refresh_from_db()
    if approval.status == "approved":
        assert ticket.state == TicketState.REFUNDING
        assert Refund.objects.filter(ticket=ticket).count() == 1
    else:
        assert approval.status == "declined"
        assert ticket.state == TicketState.REQUESTED
        assert not Refund.objects.exists()
    assert ApprovalRequest.objects.filter(ticket=ticket).count() == 1


def test_twenty_tickets_of_one_order_never_refund_more_than_was_paid(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("1000.00"))
    amounts = [Decimal(60 + 3 * n) for n in range(THREADS)]  # 60.00 … 117.00, together 1770.00
    tickets = [open_ticket(order, requested_amount=str(amount)) for amount in amounts]

    results = race([lambda ticket=ticket: ticket_approve_refund(ticket=ticket, by=agent) for ticket in tickets])

    order.refresh_from_db()
    refunds = Refund.objects.filter(order=order)
    assert order.refunded_amount == live_refunds_of(order) == sum(refund.amount for refund in refunds)
    assert order.refunded_amount <= order.paid_amount
    winners = outcomes(results, "ok")
    assert len(winners) == refunds.count()
    assert {decision.refund.pk for decision in winners} == set(refunds.values_list("pk", flat=True))
    losers = [ticket for ticket, (outcome, _value) in zip(tickets, results, strict=True) if outcome == "refused"]
    assert outcomes(results, "refused") == ["over_paid"] * len(losers)
    assert len(winners) + len(losers) == THREADS
    assert losers, "the amounts add up to more than was paid; some must lose"
    # Nobody lost who would still fit: each loser asked for more than is left now.
    assert all(ticket.requested_amount > order.refundable_amount for ticket in losers)
    assert all(
        AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.REQUESTED and not ticket.refunds.exists()
        for ticket in losers
    )


def test_twenty_bare_inserts_into_the_refund_table_never_exceed_the_paid_amount(shop):
    """Past every service: only the trigger and the check constraint stand between the threads and the money."""
    order = delivered_order(shop=shop, paid_amount=Decimal("1000.00"))
    ticket = open_ticket(order, requested_amount="1.00")
    system = system_user()

    def insert(n):
        return Refund.objects.create(
            ticket=ticket,
            order=order,
            shop=shop,
            kind="partial",
            amount=Decimal("75.00"),
            idempotency_key=f"bare-{n}",
            requested_by=system,
        )

    results = [None] * THREADS
    barrier = threading.Barrier(THREADS)

    def run(n):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            insert(n)
            results[n] = "inserted"
        except IntegrityError as error:
            results[n] = "refused" if "order_refunded_within_paid" in str(error) else repr(error)
        except Exception as error:  # reported back to the test
            results[n] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["inserted"] * 13 + ["refused"] * 7  # 13 × 75 = 975 ≤ 1000 < 14 × 75
    order.refresh_from_db()
    assert order.refunded_amount == live_refunds_of(order) == Decimal("975.00")
