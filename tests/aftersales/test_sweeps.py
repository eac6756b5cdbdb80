"""The refund sweep and the approval SLA check (日清, DESIGN §4): what they move, that a second run moves nothing,
that their queries grow with batches and not with tickets, and that a broken step is reported, not fatal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    Refund,
    SweepRun,
    TicketEvent,
    TicketState,
)
from aftersales.services import ticket_request_approval
from aftersales.services.sweeps import approval_sla_run, refund_sweep_run
from desk.sweeps import sweep_run
from tests.factories import OrderFactory, ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db
S = TicketState


def left_waiting(count: int, *, shop=None, amount="59.00", paid="59.00"):
    """Path-1 tickets the rule did not refund when they arrived (auto refunds were off), then switched on: the
    sweep's work, as after an outage."""
    shop = shop or ShopFactory(auto_refund_enabled=False)
    shop.auto_refund_enabled = False
    shop.save()
    tickets = [
        open_ticket(OrderFactory(shop=shop, paid_amount=Decimal(paid)), requested_amount=amount) for _ in range(count)
    ]
    shop.auto_refund_enabled = True
    shop.save()
    assert {ticket.state for ticket in tickets} == {S.REQUESTED}
    return tickets


def state_of(tickets) -> set:
    return set(AfterSalesTicket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("state", flat=True))


def test_the_sweep_refunds_path_one_tickets_the_rule_left_and_writes_its_run():
    tickets = left_waiting(3)

    run = refund_sweep_run()

    assert state_of(tickets) == {S.REFUNDING}
    refunds = Refund.objects.filter(ticket__in=tickets)
    assert sorted(refunds.values_list("amount", "status", "kind")) == [(Decimal("59.00"), "pending", "full")] * 3
    assert TicketEvent.objects.filter(ticket__in=tickets, action="auto_refund").count() == 3
    assert (run.kind, run.status, run.counts, run.errors) == ("refund", "finished", {"auto_refund": 3}, [])
    assert run.finished_at >= run.started_at
    assert SweepRun.objects.get() == run


def test_a_second_sweep_changes_nothing():
    left_waiting(4)
    refund_sweep_run()
    refunds, events = Refund.objects.count(), TicketEvent.objects.count()

    second = refund_sweep_run()

    assert second.counts == {}
    assert (Refund.objects.count(), TicketEvent.objects.count()) == (refunds, events)


def test_the_sweep_keeps_to_the_cap_and_to_what_is_left_of_the_order():
    shop = ShopFactory(auto_refund_enabled=False, auto_refund_max_amount=Decimal("100.00"))
    above_cap = left_waiting(1, shop=shop, amount="150.00", paid="150.00")[0]
    order = OrderFactory(shop=shop, paid_amount=Decimal("80.00"))
    shop.auto_refund_enabled = False
    shop.save()
    first = open_ticket(order, requested_amount="50.00")
    second = open_ticket(order, requested_amount="50.00")  # together more than the ¥80 paid
    shop.auto_refund_enabled = True
    shop.save()

    run = refund_sweep_run()

    assert run.counts == {"auto_refund": 1}
    assert AfterSalesTicket.objects.get(pk=above_cap.pk).state == S.REQUESTED
    assert sorted(state_of([first]) | state_of([second])) == [S.REFUNDING, S.REQUESTED]
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("50.00")


def test_a_shop_with_automatic_refunds_off_is_left_to_its_agents():
    tickets = left_waiting(2)
    shop = tickets[0].shop
    shop.auto_refund_enabled = False
    shop.save()

    assert refund_sweep_run().counts == {}
    assert state_of(tickets) == {S.REQUESTED}


def test_tickets_near_their_platform_deadline_go_to_the_top_of_the_queue_once():
    now = timezone.now()
    shop = ShopFactory(auto_refund_enabled=False)
    near, far, done = (open_ticket(OrderFactory(shop=shop), requested_amount="10.00") for _ in range(3))
    AfterSalesTicket.objects.filter(pk=near.pk).update(deadline=now + timedelta(hours=5, minutes=59))
    AfterSalesTicket.objects.filter(pk=far.pk).update(deadline=now + timedelta(hours=6, minutes=1))
    AfterSalesTicket.objects.filter(pk=done.pk).update(deadline=now + timedelta(hours=1), state=S.REFUNDED)

    run = refund_sweep_run(now=now)

    flagged = set(AfterSalesTicket.objects.filter(escalation_risk=True).values_list("pk", flat=True))
    assert flagged == {near.pk}
    assert run.counts == {"deadline_escalated": 1}
    assert TicketEvent.objects.filter(ticket=near, action="deadline_near").count() == 1
    assert AfterSalesTicket.objects.filter(shop=shop, state=S.REQUESTED).first() == near  # the queue's order
    assert refund_sweep_run(now=now).counts == {}


def test_refunds_left_unsent_are_sent_once_their_task_is_overdue():
    old, fresh = left_waiting(2)
    refund_sweep_run()
    Refund.objects.filter(ticket=old).update(created_at=timezone.now() - timedelta(minutes=6))

    run = refund_sweep_run()

    # The batch-file gateway queues it for the shop's next batch file; nothing is confirmed, the ticket waits.
    assert run.counts == {"refund_queued": 1}
    refund = Refund.objects.get(ticket=old)
    assert (refund.status, refund.gateway) == (Refund.Status.PENDING, "batch_file")
    assert AfterSalesTicket.objects.get(pk=old.pk).state == S.REFUNDING
    assert Refund.objects.get(ticket=fresh).gateway == ""  # its task may still be on its way
    assert refund_sweep_run().counts == {}


def test_a_send_whose_answer_never_came_is_asked_about_and_not_sent_again_unless_the_marketplace_never_got_it(
    stub_gateway,
):
    from aftersales.gateways import RefundGatewayUnavailable, StatusOutcome
    from aftersales.services import refunds_execute

    tickets = left_waiting(3)
    refund_sweep_run()
    got_it, refused, never_got = Refund.objects.filter(ticket__in=tickets).order_by("pk")
    stub_gateway.send_answer = "unavailable"
    with pytest.raises(RefundGatewayUnavailable):
        refunds_execute(refund_ids=[got_it.pk, refused.pk, never_got.pk])
    assert set(Refund.objects.filter(ticket__in=tickets).values_list("status", flat=True)) == {"pending"}
    assert Refund.objects.filter(ticket__in=tickets, send_started_at__isnull=True).count() == 0
    stub_gateway.send_answer = "sent"
    # A second try of the task (or an agent's click) sends nothing while the claim's answer may still come.
    refunds_execute(refund_ids=[got_it.pk, refused.pk, never_got.pk])
    assert stub_gateway.sends == {got_it.pk: 1, refused.pk: 1, never_got.pk: 1}
    Refund.objects.filter(ticket__in=tickets).update(send_started_at=timezone.now() - timedelta(minutes=6))
    stub_gateway.status_answers = {got_it.pk: StatusOutcome.CONFIRMED, refused.pk: StatusOutcome.FAILED}

    run = refund_sweep_run()

    assert stub_gateway.asked == {got_it.pk: 1, refused.pk: 1, never_got.pk: 1}
    # Only the one the marketplace never received went out again.
    assert stub_gateway.sends == {got_it.pk: 1, refused.pk: 1, never_got.pk: 2}
    statuses = dict(Refund.objects.filter(ticket__in=tickets).values_list("pk", "status"))
    assert statuses == {got_it.pk: "succeeded", refused.pk: "failed", never_got.pk: "sent"}
    assert run.counts == {"refund_succeeded": 1, "refund_failed": 1, "refund_sent": 1}
    assert AfterSalesTicket.objects.get(pk=got_it.ticket_id).state == S.REFUNDED
    assert AfterSalesTicket.objects.get(pk=refused.ticket_id).state == S.REQUESTED
    assert Refund.objects.get(pk=refused.pk).failure_reason == "退款关闭"
    assert TicketEvent.objects.filter(ticket_id=never_got.ticket_id, action="refund_send_lost").count() == 1


def test_a_sent_refund_is_confirmed_when_the_marketplace_says_so_and_left_alone_while_it_does_not(stub_gateway):
    from aftersales.gateways import StatusOutcome
    from aftersales.services import refunds_execute

    confirmed, waiting = left_waiting(2)
    refund_sweep_run()
    refunds = list(Refund.objects.filter(ticket__in=[confirmed, waiting]).order_by("pk"))
    refunds_execute(refund_ids=[refund.pk for refund in refunds])
    Refund.objects.filter(pk__in=[refund.pk for refund in refunds]).update(
        sent_at=timezone.now() - timedelta(minutes=6)
    )
    stub_gateway.status_answers = {refunds[0].pk: StatusOutcome.CONFIRMED, refunds[1].pk: StatusOutcome.SENT}

    run = refund_sweep_run()

    assert run.counts == {"refund_succeeded": 1}
    assert state_of([confirmed]) == {S.REFUNDED}
    assert state_of([waiting]) == {S.REFUNDING}
    assert Refund.objects.get(pk=refunds[1].pk).status == Refund.Status.SENT
    assert stub_gateway.sends == {refunds[0].pk: 1, refunds[1].pk: 1}


def test_overdue_approvals_are_escalated_once():
    shop = ShopFactory(auto_refund_enabled=False)
    agent = make_staff("agent", role="Agent", shops=[shop])
    tickets = [open_ticket(OrderFactory(shop=shop), requested_amount="10.00") for _ in range(2)]
    overdue, in_time = (
        ticket_request_approval(ticket=ticket, by=agent, amount="90.00", reason="老客户") for ticket in tickets
    )
    ApprovalRequest.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    run = approval_sla_run()

    assert run.counts == {"approval_escalated": 1}
    assert ApprovalRequest.objects.get(pk=overdue.pk).escalated_at is not None
    assert ApprovalRequest.objects.get(pk=in_time.pk).escalated_at is None
    assert AfterSalesTicket.objects.get(pk=overdue.ticket_id).escalation_risk
    assert TicketEvent.objects.filter(action="approval_overdue").count() == 1
    assert approval_sla_run().counts == {}


def sweep_queries(tickets: int, batch_size: int) -> int:
    left_waiting(tickets)
    with CaptureQueriesContext(connection) as queries:
        run = refund_sweep_run(batch_size=batch_size)
    assert run.counts == {"auto_refund": tickets}
    AfterSalesTicket.objects.update(state=S.CANCELLED)  # out of the next measurement's way
    return len(queries)


def test_the_sweeps_queries_grow_with_its_batches_not_its_tickets():
    one_batch_of_10 = sweep_queries(10, batch_size=10)
    one_batch_of_40 = sweep_queries(40, batch_size=40)
    four_batches_of_10 = sweep_queries(40, batch_size=10)
    eight_batches_of_5 = sweep_queries(40, batch_size=5)

    assert one_batch_of_40 == one_batch_of_10
    per_batch = (eight_batches_of_5 - four_batches_of_10) / 4
    assert per_batch > 0
    assert four_batches_of_10 - one_batch_of_40 == 3 * per_batch


def test_a_broken_step_is_reported_and_the_others_still_run():
    tickets = left_waiting(1)

    def broken(ctx):
        raise RuntimeError("courier API down")

    def refund_them(ctx):
        from aftersales.services.sweeps import auto_refunds_apply

        auto_refunds_apply(ctx)

    run = sweep_run(SweepRun.Kind.REFUND, [("broken", broken), ("auto_refund", refund_them)])

    assert run.status == "finished"
    assert run.errors == [{"step": "broken", "ticket": None, "error": "RuntimeError('courier API down')"}]
    assert state_of(tickets) == {S.REFUNDING}


def test_a_run_killed_long_ago_is_marked_failed_by_the_next():
    killed = SweepRun.objects.create(
        kind=SweepRun.Kind.REFUND, started_at=timezone.now() - timedelta(hours=3), batch_size=200
    )

    refund_sweep_run()

    killed.refresh_from_db()
    assert killed.status == SweepRun.Status.FAILED


def test_the_sweep_queues_one_payment_task_per_batch_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    from aftersales import tasks

    sent = []
    monkeypatch.setattr(tasks.refunds_execute_task, "apply_async", lambda args, **kwargs: sent.append(args))
    tickets = left_waiting(5)

    with django_capture_on_commit_callbacks(execute=True):
        refund_sweep_run(batch_size=2)

    refund_ids = sorted(Refund.objects.filter(ticket__in=tickets).values_list("pk", flat=True))
    assert [len(args[0]) for args in sent] == [2, 2, 1]
    assert sorted(refund_id for args in sent for refund_id in args[0]) == refund_ids


def test_a_batch_of_refunds_is_sent_one_by_one_and_a_second_run_sends_nothing_twice(stub_gateway):
    from aftersales.services import refunds_execute

    tickets = left_waiting(3)
    refund_sweep_run()
    refund_ids = list(Refund.objects.filter(ticket__in=tickets).values_list("pk", flat=True))

    refunds_execute(refund_ids=refund_ids)
    sent_at = sorted(Refund.objects.filter(pk__in=refund_ids).values_list("sent_at", flat=True))
    refunds_execute(refund_ids=refund_ids)

    assert stub_gateway.sends == dict.fromkeys(refund_ids, 1)
    assert state_of(tickets) == {S.REFUNDING}  # sent, awaiting the marketplace
    assert sorted(Refund.objects.filter(pk__in=refund_ids).values_list("sent_at", flat=True)) == sent_at
    assert TicketEvent.objects.filter(ticket__in=tickets, action="refund_sent").count() == 3


def test_a_gateway_that_cannot_be_reached_leaves_that_refund_claimed_and_the_others_sent(stub_gateway):
    from aftersales.gateways import RefundGatewayUnavailable
    from aftersales.services import refunds_execute

    tickets = left_waiting(3)
    refund_sweep_run()
    refunds = list(Refund.objects.filter(ticket__in=tickets).order_by("pk"))
    unreachable = refunds[1].pk
    stub_gateway.unavailable_for = {unreachable}

    with pytest.raises(RefundGatewayUnavailable):
        refunds_execute(refund_ids=[refund.pk for refund in refunds])

    statuses = dict(Refund.objects.filter(ticket__in=tickets).values_list("pk", "status"))
    assert statuses == {refunds[0].pk: "sent", unreachable: "pending", refunds[2].pk: "sent"}
    assert Refund.objects.get(pk=unreachable).send_started_at is not None
