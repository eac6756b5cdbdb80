"""Group robots: messages to a courier's group chat (WeCom, DingTalk or Feishu custom-robot webhooks).

Each message belongs to a shop and goes to the robot of that shop's agreement (快递协议) with the courier, never to an
address another shop set. Messages are written to the RobotMessage outbox in the transaction that decided them and
sent afterwards by a task, so a robot that is down or a worker that dies delays a message but never loses it. The
transport is chosen by settings.GROUP_ROBOT_TRANSPORT: HTTP by default; `make run`'s demo uses the recorder, which
sends nothing.
"""

import base64
import hashlib
import hmac
import logging
import time
from datetime import timedelta
from urllib.parse import quote_plus

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from logistics import lock_objects
from logistics.models import CourierAgreement, RobotKind, RobotMessage, TeamRobot

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# How long a message taken by a worker is left to it; the HTTP transport gives up well before (5 s, 2 retries).
SEND_LEASE = timedelta(minutes=5)


class RobotUnavailable(Exception):
    """The robot could not be reached or answered 5xx: try again later."""


class RobotRefused(Exception):
    """The robot answered and said no (bad key, bad signature, blocked keyword): retrying will not help."""


def _sign(secret: str, timestamp: str) -> str:
    # Both DingTalk and Feishu sign "timestamp\nsecret" with HMAC-SHA256 and base64; DingTalk keys the HMAC with the
    # secret, Feishu with the string itself over an empty message.
    string = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), string, hashlib.sha256).digest()).decode()


def _feishu_sign(secret: str, timestamp: str) -> str:
    string = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(string, b"", hashlib.sha256).digest()).decode()


def robot_request(kind: str, url: str, secret: str, text: str) -> tuple[str, dict]:
    """The URL and JSON body each robot expects for a plain-text message."""
    if kind == RobotKind.FEISHU:
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:
            timestamp = str(int(time.time()))
            body.update(timestamp=timestamp, sign=_feishu_sign(secret, timestamp))
        return url, body
    body = {"msgtype": "text", "text": {"content": text}}
    if kind == RobotKind.DINGTALK and secret:
        timestamp = str(int(time.time() * 1000))
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}timestamp={timestamp}&sign={quote_plus(_sign(secret, timestamp))}"
    return url, body


def _accepted(kind: str, answer: dict) -> tuple[bool, str]:
    if kind == RobotKind.FEISHU:
        code = answer.get("code", answer.get("StatusCode", -1))
        return code == 0, str(answer.get("msg") or answer.get("StatusMessage") or "")
    return answer.get("errcode", -1) == 0, str(answer.get("errmsg") or "")


class HttpRobotTransport:
    """POSTs to the robot's webhook with short timeouts; connection failures are retried twice at once, anything
    else unavailable is left to the task's own retries (with backoff)."""

    timeout = httpx.Timeout(5.0, connect=3.0)

    def send(self, *, kind: str, url: str, secret: str, text: str) -> None:
        url, body = robot_request(kind, url, secret, text)
        try:
            with httpx.Client(timeout=self.timeout, transport=httpx.HTTPTransport(retries=2)) as client:
                response = client.post(url, json=body)
        except httpx.HTTPError as error:
            raise RobotUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise RobotUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise RobotRefused(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as error:
            raise RobotRefused("not a JSON answer") from error
        accepted, message = _accepted(kind, answer if isinstance(answer, dict) else {})
        if not accepted:
            raise RobotRefused(message or str(answer)[:200])


class RecordingRobotTransport:
    """The demo's robot: keeps what would have been sent (and logs it) instead of calling the network."""

    sent: list[dict] = []

    def send(self, *, kind: str, url: str, secret: str, text: str) -> None:
        url, body = robot_request(kind, url, secret, text)
        self.sent.append({"kind": kind, "url": url, "body": body})
        logger.info("group robot (recorded, not sent) %s: %s", kind, text)


def get_robot_transport():
    return import_string(settings.GROUP_ROBOT_TRANSPORT)()


def _agreement_of(message: RobotMessage) -> CourierAgreement | TeamRobot | None:
    """Where the message goes: the shop's agreement with the courier or, for a message to the team (no courier),
    the shop's team robot."""
    if message.shop_id is None:
        return None
    if message.courier_id is None:
        return TeamRobot.objects.filter(shop_id=message.shop_id).first()
    return CourierAgreement.objects.filter(shop_id=message.shop_id, courier_id=message.courier_id).first()


def _no_robot_reason(message: RobotMessage, agreement: CourierAgreement | TeamRobot | None) -> str:
    if message.shop_id is None:
        return gettext("Written before robots were set per shop; not sent.")
    if message.courier_id is None:
        return gettext("%(shop)s has no team robot: set one up for its team lead.") % {"shop": message.shop.name}
    names = {"shop": message.shop.name, "courier": message.courier.name}
    if agreement is None:
        return gettext("%(shop)s has no agreement with %(courier)s: set one up with its group robot.") % names
    return gettext("The agreement of %(shop)s with %(courier)s has no group robot: set it up.") % names


def robot_message_send(*, message_id: int) -> str:
    """Send one pending message to the group robot of its shop's agreement with the courier; returns its status.
    Still `pending` means try again later (the task retries). No agreement or no robot on it: `no_robot`, sent to
    nobody.

    The message is taken in one short transaction and its answer recorded in another: the robot is called with no
    row locked. A message another worker has taken and not answered yet is left to it (its status is returned)."""
    taken = _take(message_id)
    if isinstance(taken, str):
        return taken
    message, agreement = taken
    status, sent_at, error = RobotMessage.Status.SENT, None, ""
    try:
        get_robot_transport().send(
            kind=agreement.robot_kind,
            url=agreement.robot_webhook_url,
            secret=agreement.robot_secret,
            text=message.text,
        )
    except RobotRefused as refusal:
        status, error = RobotMessage.Status.FAILED, str(refusal)[:300]
    except RobotUnavailable as unavailable:
        error = str(unavailable)[:300]
        status = RobotMessage.Status.FAILED if message.attempts >= MAX_ATTEMPTS else RobotMessage.Status.PENDING
    else:
        sent_at = timezone.now()
    # Recorded only if the message is still ours: pending, at the attempt we made.
    RobotMessage.objects.filter(pk=message.pk, status=RobotMessage.Status.PENDING, attempts=message.attempts).update(
        status=status, sent_at=sent_at, last_error=error, sending_since=None
    )
    return RobotMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or ""


@transaction.atomic
def _take(message_id: int) -> tuple[RobotMessage, CourierAgreement | TeamRobot] | str:
    """Take a pending message to send (its attempt counted), or settle it as `no_robot`; a message not taken returns
    its status."""
    now = timezone.now()
    message = lock_objects.pending_robot_message_for_update(message_id, taken_before=now - SEND_LEASE)
    if message is None:
        return RobotMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or ""
    agreement = _agreement_of(message)
    if agreement is None or not agreement.has_robot:
        # Never a global address: without the shop's own robot the message goes to nobody and says why.
        message.status = RobotMessage.Status.NO_ROBOT
        message.last_error = _no_robot_reason(message, agreement)[:300]
        message.sending_since = None
        message.save(update_fields=["status", "last_error", "sending_since"])
        return message.status
    message.attempts += 1
    message.sending_since = now
    message.save(update_fields=["attempts", "sending_since"])
    return message, agreement


def robot_messages_send_pending(*, batch_size: int = 200) -> int:
    """The safety net for messages whose task was lost: send what is still pending, oldest first."""
    sent = 0
    for message_id in (
        RobotMessage.objects.filter(status=RobotMessage.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    ):
        if robot_message_send(message_id=message_id) == RobotMessage.Status.SENT:
            sent += 1
    return sent
