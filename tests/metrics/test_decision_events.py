"""The merchant's decisions the metrics read are events of the ticket vocabulary, and a compensation (赔偿) is decided
by the refund event that pays it: no event of its own (the list once named `resolved_compensation`, which nothing
writes)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.models import TicketEvent, TicketKind
from aftersales.services import approval_decide, ticket_approve_refund
from metrics.definitions import MERCHANT_DECISIONS, RETURN_CONFIRMATIONS, Scope, first_events
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db


def test_the_decisions_the_metrics_read_are_actions_of_the_vocabulary():
    strays = [
        action for action in [*MERCHANT_DECISIONS, *RETURN_CONFIRMATIONS] if not isinstance(action, TicketEvent.Action)
    ]

    assert strays == []


@pytest.fixture
def shop():
    return ShopFactory()


def compensation_ticket(shop, amount="30.00"):
    return open_ticket(delivered_order(shop=shop), kind=TicketKind.COMPENSATION, requested_amount=amount)


def first_decisions(shop):
    now = timezone.now()
    scope = Scope((shop.pk,), now - timedelta(days=1), now + timedelta(days=1))
    return list(first_events(scope, MERCHANT_DECISIONS).values_list("ticket_id", "action", "actor__username"))


def test_a_compensation_the_agent_pays_is_decided_by_the_refund_event(shop):
    agent = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(agent, shop, Decimal("100.00"))
    ticket = compensation_ticket(shop)

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="30.00", kind="compensation")

    assert decision.refund.kind == "compensation"
    assert first_decisions(shop) == [(ticket.pk, TicketEvent.Action.REFUND_APPROVED, "agent")]


def test_a_compensation_above_the_agents_authority_is_decided_when_the_supervisor_approves(shop):
    """Asking the supervisor is an internal step, not the decision: the approval is."""
    agent = make_staff("agent", role="Agent", shops=[shop])
    boss = make_staff("boss", role="Supervisor", shops=[shop])
    grant_authority(agent, shop, Decimal("10.00"))
    grant_authority(boss, shop, Decimal("100.00"))
    ticket = compensation_ticket(shop)
    asked = ticket_approve_refund(ticket=ticket, by=agent, amount="30.00", kind="compensation")
    assert first_decisions(shop) == []

    approval_decide(approval=asked.approval, by=boss, approve=True)

    assert first_decisions(shop) == [(ticket.pk, TicketEvent.Action.APPROVAL_APPROVED, "boss")]
