"""Where a move may start is written once, in its ticket transition's `source`: the action catalogue, the admin's
buttons, the API's documentation and the refund gate's doors read it from there."""

import re

import pytest
from django.utils import translation
from django_fsm import RETURN_VALUE
from rest_framework.test import APIClient

from aftersales import ticket_actions
from aftersales.models import AfterSalesTicket, TicketState
from aftersales.services.refund_gate import DOOR_MOVES, ESCALATING_DOORS, RefundDoor
from aftersales.ticket_actions import ACTIONS, offered_actions
from tests.factories import make_staff

S = TicketState

# What each move of the catalogue allows today, as a user sees it (the admin's buttons, the API's route): the
# services' checks before the states moved into the transitions. A change here is a change of behaviour.
ALLOWED = {
    # A repair that cannot be made after all (in repair, 维修中) is refunded by the agent instead.
    "refund": {S.REQUESTED, S.RECEIVED, S.REPAIRING},
    "full_refund": {S.REQUESTED, S.RECEIVED, S.REPAIRING},
    "request_approval": {S.REQUESTED, S.RECEIVED, S.REPAIRING},
    "reship": {S.REQUESTED},
    "exchange": {S.REQUESTED},
    "agree_return": {S.REQUESTED},
    # 退货重拍: an exchange becomes a return and refund anywhere before it is resolved.
    "return_and_reorder": {S.REQUESTED, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT, S.RECEIVED},
    "cutoff": {S.REQUESTED},
    "reject": {S.REQUESTED, S.RECEIVED},
    # 已收到货仅退款: offered only once the buyer let the return proposal run out (offered_when)
    "reject_unchanged": {S.REQUESTED, S.RECEIVED},
    "return_shipped": {S.AWAITING_RETURN},
    "withdraw": {S.REQUESTED, S.AWAITING_RETURN},
    "platform_review": {S.REQUESTED, S.REJECTED},
    "ruled_for_buyer": {S.PLATFORM_REVIEW},
    "ruled_for_merchant": {S.PLATFORM_REVIEW},
    "close": {S.REJECTED},
    "repair_shipped": {S.REPAIRING},
    "decide_kind": set(S.values),
    "change_reason": set(S.values),
    "note": set(S.values),
    # logistics' moves, registered at its start-up
    "request_intercept": {S.REQUESTED},
    "refund_before_intercept_answer": {S.INTERCEPTING},
}


def transition_source(name: str) -> set[str]:
    """The transition's own metadata (django-fsm), read here without the code under test."""
    return set(getattr(AfterSalesTicket, name)._django_fsm.transitions)


def test_every_move_of_the_catalogue_starts_where_its_transition_does():
    assert {action.name for action in ACTIONS} == set(ALLOWED)
    for action in ACTIONS:
        expected = set(S.values) if action.transition is None else transition_source(action.transition)
        assert set(action.states) == expected, action.name
        assert set(action.states) == ALLOWED[action.name], action.name


class Anyone:
    def has_perm(self, permission) -> bool:
        return True


# Moves offered on every ticket in their states (no extra condition on the order or its intercepts).
UNCONDITIONAL = {"refund", "full_refund", "request_approval", "reject", "withdraw", "platform_review", "close", "note"}


def test_the_admins_buttons_are_offered_exactly_in_the_moves_source_states(monkeypatch):
    """offered_actions (the admin's buttons, the API's GET …/actions/) for someone holding every permission, on a
    ticket in each state, over the moves with no extra condition."""
    monkeypatch.setattr(ticket_actions, "ACTIONS", [action for action in ACTIONS if action.name in UNCONDITIONAL])
    ticket = AfterSalesTicket()
    for state in S.values:
        ticket.__dict__["state"] = state
        offered = {action.name for action in offered_actions(ticket, Anyone())}
        assert offered == {name for name in UNCONDITIONAL if state in ALLOWED[name]}, state


def test_each_refund_door_starts_where_its_transition_does_and_escalates_only_if_it_may():
    """The doors' sources together are the five states a refund could start from before and a repair in progress,
    and the four an approval could be asked from and a repair in progress; a door may end awaiting approval exactly
    when the gate lets it escalate."""
    refunding, approval = set(), set()
    for door in RefundDoor:
        name = DOOR_MOVES[door]
        target = next(iter(getattr(AfterSalesTicket, name)._django_fsm.transitions.values())).target
        assert isinstance(target, RETURN_VALUE), door
        assert S.REFUNDING in target.allowed_states
        escalates = S.AWAITING_APPROVAL in target.allowed_states
        assert escalates == (door in ESCALATING_DOORS), door
        refunding |= transition_source(name)
        if escalates:
            approval |= transition_source(name)
    assert refunding == {S.REQUESTED, S.INTERCEPTING, S.AWAITING_APPROVAL, S.RECEIVED, S.REPAIRING, S.PLATFORM_REVIEW}
    assert approval == {S.REQUESTED, S.RECEIVED, S.REPAIRING, S.INTERCEPTING, S.PLATFORM_REVIEW}


@pytest.mark.django_db
def test_the_api_documents_each_move_with_exactly_the_states_it_starts_from():
    api = APIClient()
    api.force_authenticate(make_staff("manager", role="Manager"))
    with translation.override("en"):
        schema = api.get("/api/v1/schema/?format=json&lang=en").json()
    description = schema["paths"]["/api/v1/tickets/{id}/actions/{action_name}/"]["post"]["description"]

    documented = {}
    for name, states in re.findall(r"^- `([a-z_]+)`(?: \([^)]*\))?: (.+)$", description, flags=re.MULTILINE):
        documented[name] = set(S.values) if states == "any state" else set(states.split(", "))
    assert documented == ALLOWED
    assert "- `refund` (amount, kind, note): requested, received" in description
