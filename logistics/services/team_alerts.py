"""Complaint risks for the team lead (seed 004: a buyer who writes 投诉, 12315, 曝光 or 差评 → 联系小组长): aftersales
writes one EscalationAlert per ticket and calls the notifier registered here after its commit; the alert becomes a
message in the robot outbox, to the shop's team robot, sent by the robot task outside any transaction."""

import logging

from django.db import transaction
from django.utils import timezone

from aftersales import services as aftersales
from aftersales.models import EscalationAlert
from logistics.models import RobotMessage
from logistics.services.common import queue_robot_messages

logger = logging.getLogger(__name__)

TEAM_LEAD_PURPOSE = "team_lead_alert"


@transaction.atomic
def team_lead_alert_hand_over(*, alert_id: int) -> RobotMessage | None:
    """Take the alert (once, whoever calls) and write its message to the shop's team robot, queued to send after
    commit; None if it was already taken."""
    alert = aftersales.escalation_alert_take(alert_id=alert_id, at=timezone.now())
    if alert is None:
        return None
    message = RobotMessage(shop_id=alert.shop_id, courier=None, purpose=TEAM_LEAD_PURPOSE, text=alert.text)
    queue_robot_messages([message])
    return message


def team_lead_alert_notify(alert_id: int) -> None:
    """The notifier aftersales calls after the alert's commit. A failure here loses nothing: the alert stays
    pending and the refund sweep's step hands it over."""
    try:
        team_lead_alert_hand_over(alert_id=alert_id)
    except Exception:
        logger.exception("team lead alert %s not handed over; the sweep will", alert_id)


def team_lead_alerts_hand_over_pending(*, batch_size: int) -> int:
    """The sweep's safety net: alerts whose hand-over was lost, oldest first."""
    handed = 0
    pending = EscalationAlert.objects.filter(taken_at__isnull=True).order_by("pk")
    for alert_id in pending.values_list("pk", flat=True)[:batch_size]:
        if team_lead_alert_hand_over(alert_id=alert_id) is not None:
            handed += 1
    return handed
