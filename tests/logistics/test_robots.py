"""Group robots against a real HTTP server on this machine: each format, its signature, refusals, timeouts, retries."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import override_settings

from logistics.models import RobotKind, RobotMessage
from logistics.robots import MAX_ATTEMPTS, HttpRobotTransport, RecordingRobotTransport, robot_message_send
from logistics.services import courier_agreement_upsert
from tests.factories import ShopFactory
from tests.logistics.parcels import courier

pytestmark = pytest.mark.django_db
HTTP = "logistics.robots.HttpRobotTransport"


class RobotServer:
    """A webhook that answers what the test says and keeps what it received."""

    def __init__(self):
        self.received = []
        self.answer = (200, {"errcode": 0, "errmsg": "ok"})
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.append({"path": self.path, "body": json.loads(body)})
                time.sleep(server.delay)
                status, answer = server.answer
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/robot/send?key=abc"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def robot():
    server = RobotServer()
    yield server
    server.close()


def message_to(kind, url, secret="", text="[拦截] 顺丰 SF0001", shop=None):
    """A message of `shop` whose agreement with SF has this robot."""
    shop = shop or ShopFactory()
    carrier = courier("SF")
    courier_agreement_upsert(shop=shop, courier=carrier, robot_kind=kind, robot_webhook_url=url, robot_secret=secret)
    return RobotMessage.objects.create(shop=shop, courier=carrier, purpose="intercept_request", text=text)


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_wecom_message_is_posted_as_text(robot):
    message = message_to(RobotKind.WECOM, robot.url)

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT

    assert robot.received == [
        {"path": "/robot/send?key=abc", "body": {"msgtype": "text", "text": {"content": "[拦截] 顺丰 SF0001"}}}
    ]
    message.refresh_from_db()
    assert (message.attempts, message.sent_at is not None) == (1, True)
    # Sent once: a replayed task changes nothing.
    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT
    assert len(robot.received) == 1


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_dingtalk_message_carries_a_valid_signature(robot):
    message = message_to(RobotKind.DINGTALK, robot.url, secret="SECabc")

    robot_message_send(message_id=message.pk)

    [request] = robot.received
    query = parse_qs(urlsplit(request["path"]).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()).decode()
    assert sign == expected
    assert abs(int(timestamp) / 1000 - time.time()) < 60
    assert request["body"] == {"msgtype": "text", "text": {"content": "[拦截] 顺丰 SF0001"}}


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_feishu_message_carries_its_signature_in_the_body(robot):
    robot.answer = (200, {"code": 0, "msg": "success"})
    message = message_to(RobotKind.FEISHU, robot.url, secret="fs-secret")

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT

    body = robot.received[0]["body"]
    expected = base64.b64encode(
        hmac.new(f"{body['timestamp']}\nfs-secret".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert (body["msg_type"], body["content"], body["sign"]) == ("text", {"text": "[拦截] 顺丰 SF0001"}, expected)


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_robot_that_says_no_fails_the_message_without_retrying(robot):
    robot.answer = (200, {"errcode": 310000, "errmsg": "sign not match"})
    message = message_to(RobotKind.DINGTALK, robot.url, secret="wrong")

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.FAILED

    message.refresh_from_db()
    assert message.last_error == "sign not match"


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_robot_answering_5xx_keeps_the_message_pending_until_the_attempts_run_out(robot):
    robot.answer = (502, {"errcode": -1})
    message = message_to(RobotKind.WECOM, robot.url)

    statuses = [robot_message_send(message_id=message.pk) for _ in range(MAX_ATTEMPTS)]

    assert statuses == [RobotMessage.Status.PENDING] * (MAX_ATTEMPTS - 1) + [RobotMessage.Status.FAILED]
    message.refresh_from_db()
    assert (message.attempts, message.last_error) == (MAX_ATTEMPTS, "HTTP 502")


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_robot_that_does_not_answer_in_time_is_tried_again_later(robot, monkeypatch):
    monkeypatch.setattr(HttpRobotTransport, "timeout", httpx.Timeout(0.3, connect=0.3))
    robot.delay = 1.0
    message = message_to(RobotKind.WECOM, robot.url)

    started = time.monotonic()
    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.PENDING
    assert time.monotonic() - started < 1.0

    message.refresh_from_db()
    assert "Timeout" in message.last_error
    robot.delay = 0.0
    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_an_unreachable_robot_is_retried_later():
    message = message_to(RobotKind.WECOM, "http://127.0.0.1:9/robot/send?key=abc")

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.PENDING

    message.refresh_from_db()
    assert "ConnectError" in message.last_error


def test_a_courier_without_a_robot_is_marked_for_a_phone_call():
    message = message_to("", "")

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.NO_ROBOT


@override_settings(GROUP_ROBOT_TRANSPORT="logistics.robots.RecordingRobotTransport")
def test_the_demos_recorder_sends_nothing_and_keeps_the_request():
    RecordingRobotTransport.sent.clear()
    message = message_to(RobotKind.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo")

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT

    assert RecordingRobotTransport.sent == [
        {
            "kind": "wecom",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo",
            "body": {"msgtype": "text", "text": {"content": "[拦截] 顺丰 SF0001"}},
        }
    ]
