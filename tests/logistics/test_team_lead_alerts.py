"""Issue 22 §6: escalation words (seed 004: 投诉, 12315, 曝光, 差评) do more than sort the queue. The shop's team lead
is told through the team's group robot, once per ticket, after the ticket's transaction (never a robot call inside
it), and the ticket page prompts the agent to make a second concession: the remedy ladder's next step."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from aftersales.models import EscalationAlert, Refund, TicketEvent, TicketKind
from aftersales.services import ticket_add_note
from aftersales.services.sweeps import refund_sweep_run
from logistics.models import RobotKind, RobotMessage, TeamRobot
from logistics.robots import RecordingRobotTransport, robot_message_send
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外", auto_refund_enabled=False)


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def team_messages(shop):
    return list(RobotMessage.objects.filter(shop=shop, courier__isnull=True, purpose="team_lead_alert"))


@override_settings(GROUP_ROBOT_TRANSPORT="logistics.robots.RecordingRobotTransport")
def test_a_buyer_who_threatens_a_complaint_is_reported_to_the_team_lead_once(
    shop, agent, django_capture_on_commit_callbacks
):
    TeamRobot.objects.create(
        shop=shop,
        robot_kind=RobotKind.WECOM,
        robot_webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=t",
    )
    RecordingRobotTransport.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00", buyer_message="再不处理我就打12315")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_add_note(ticket=ticket, by=agent, note="买家又说要给差评")  # a second word: no second alert

    alert = EscalationAlert.objects.get(ticket=ticket)
    assert alert.word == "12315"
    assert alert.taken_at is not None
    [message] = team_messages(shop)
    assert "12315" in message.text
    assert f"#{ticket.pk}" in message.text
    assert TicketEvent.objects.filter(ticket=ticket, action="team_lead_alerted").count() == 1

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT
    assert RecordingRobotTransport.sent[0]["body"]["text"]["content"] == message.text


def test_nothing_is_sent_before_the_ticket_commits_and_a_lost_hand_over_is_picked_up_by_the_sweep(shop):
    # Without running the on-commit callbacks the hand-over never happens (as if the worker died after commit).
    ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00", buyer_message="我要投诉你们")
    assert team_messages(shop) == []
    assert EscalationAlert.objects.get(ticket=ticket).taken_at is None

    run = refund_sweep_run()

    assert run.counts.get("team_lead_alerted") == 1
    assert len(team_messages(shop)) == 1
    assert refund_sweep_run().counts.get("team_lead_alerted") is None  # taken once


def test_a_shop_without_a_team_robot_keeps_the_message_as_no_robot(shop):
    open_ticket(delivered_order(shop=shop), requested_amount="20.00", buyer_message="曝光你们")
    refund_sweep_run()
    [message] = team_messages(shop)

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.NO_ROBOT
    message.refresh_from_db()
    assert "山野户外" in message.last_error


def test_a_note_with_an_escalation_word_alerts_the_team_lead_and_a_calm_one_does_not(shop, agent):
    calm = open_ticket(delivered_order(shop=shop), requested_amount="20.00", buyer_message="颜色不对")
    ticket_add_note(ticket=calm, by=agent, note="买家态度平和")
    assert not EscalationAlert.objects.filter(ticket=calm).exists()

    ticket_add_note(ticket=calm, by=agent, note="买家说要投诉")
    assert EscalationAlert.objects.get(ticket=calm).word == "投诉"


def test_the_ticket_page_prompts_a_second_concession_the_ladders_next_step(client, shop, agent):
    ticket = open_ticket(
        delivered_order(shop=shop), kind=TicketKind.COMPENSATION, requested_amount="10.00", buyer_message="差评警告"
    )
    client.force_login(agent)
    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))

    guidance = page.context["guidance"]
    assert guidance.escalation_word == "差评"
    assert guidance.second_concession.name == "refund"  # nothing conceded yet: compensate first
    html = page.content.decode()
    assert 'id="second-concession"' in html
    assert 'href="#action-refund"' in html


def test_after_a_compensation_the_second_concession_is_the_next_rung(client, shop, agent):
    from aftersales.selectors import ticket_guidance
    from aftersales.ticket_actions import REMEDY_LADDER, offered_actions

    grant_authority(agent, shop, "100.00")
    ticket = open_ticket(delivered_order(shop=shop), requested_amount="50.00", buyer_message="我要投诉")
    offered = {action.name: action for action in offered_actions(ticket, agent)}
    ladder = [offered[name] for name in REMEDY_LADDER if name in offered]
    assert ticket_guidance(ticket, ladder=ladder).second_concession.name == "refund"

    Refund.objects.create(
        ticket=ticket,
        order=ticket.order,
        shop=shop,
        kind=Refund.Kind.COMPENSATION,
        amount=Decimal("5.00"),
        idempotency_key="t-comp",
        requested_by=agent,
    )
    assert ticket_guidance(ticket, ladder=ladder).second_concession.name == "reship"


def test_no_prompt_without_an_escalation_word(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00", buyer_message="颜色不对")
    client.force_login(agent)
    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
    assert page.context["guidance"].escalation_word == ""
    assert 'id="second-concession"' not in page.content.decode()
