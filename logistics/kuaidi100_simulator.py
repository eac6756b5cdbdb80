"""A local Kuaidi100 intercept API for the tests and `make run`: nothing reaches the internet.

`python -m logistics.kuaidi100_simulator --port 8766 --account KEY:SECRET` serves it until stopped. It checks each
request's form and signature the way MARKETPLACES.md §6 describes (it computes the MD5 itself, not with our adapter),
keeps the intercept orders it accepted, and later calls each order's callbackUrl with a signed answer (upper-case hex
MD5 of param + salt: our assumption for the callback, see logistics/kuaidi100_intercept.py). The tests drive it from
Python: `answer()` for the courier's answer, `plan()` for faults:

- "timeout": sleeps past the client's timeout before doing anything (nothing happened);
- "acted_then_timeout": accepts the order, then sleeps past the client's timeout;
- "server_error": HTTP 500 before doing anything;
- "refuse": a definite no (code 30002) without keeping anything.
"""

import argparse
import hashlib
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx

logger = logging.getLogger(__name__)

FAULTS = ("timeout", "acted_then_timeout", "server_error", "refuse")
REQUIRED = (
    "orderId",
    "kuaidicom",
    "kuaidinum",
    "interceptType",
    "orderRole",
    "interceptPayType",
    "callbackUrl",
    "salt",
)
INTERCEPT_TYPES = ("RETURN_SEND_STATION", "RETURN_SEND_ADDR", "MODIFY_ADDR")


def _md5_upper(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()


@dataclass
class SimOrder:
    param: dict
    received_at: float
    answers: list[str] = field(default_factory=list)


class Kuaidi100Simulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, deliver: bool = True):
        self.accounts: dict[str, str] = {}  # key -> secret
        self.orders: dict[str, SimOrder] = {}  # orderId -> order
        self.requests: list[dict] = []  # every form received, accepted or not
        self.faults: deque[str] = deque()
        self.timeout_sleep = 2.0
        # Answered by itself `auto_delay` seconds after accepting (the demo); None: only when a test calls answer().
        self.auto_answer: str | None = None
        self.auto_delay = 5.0
        # False: callbacks are kept in `outbox` for the test to post through its client instead of over HTTP.
        self.deliver = deliver
        self.outbox: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/label/order"

    def start(self) -> "Kuaidi100Simulator":
        threading.Thread(target=self.httpd.serve_forever, name="kuaidi100-simulator", daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_account(self, key: str, secret: str) -> None:
        with self.lock:
            self.accounts[key] = secret

    def plan(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self.lock:
            self.faults.append(fault)

    # --- the API ----------------------------------------------------------------------------------------------------

    def handle(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(form)
            fault = self.faults.popleft() if self.faults else None
        if fault == "server_error":
            return 500, {"code": 500, "message": "internal error"}
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
            return 200, {"code": 200, "message": "too late: the client has gone"}
        problem = self._check(form)
        if problem:
            return 200, {"code": 30001, "message": problem}
        param = json.loads(form["param"])
        if fault == "refuse":
            return 200, {"code": 30002, "message": "该单号不支持拦截"}
        with self.lock:
            if param["orderId"] in self.orders:
                return 200, {"code": 30003, "message": "重复的拦截请求"}
            self.orders[param["orderId"]] = SimOrder(param=param, received_at=time.time())
        if self.auto_answer:
            timer = threading.Timer(self.auto_delay, self.answer, args=(param["orderId"], self.auto_answer))
            timer.daemon = True
            timer.start()
        if fault == "acted_then_timeout":
            time.sleep(self.timeout_sleep)
        return 200, {"code": 200, "message": "success", "data": {"orderId": param["orderId"]}}

    def _check(self, form: dict[str, str]) -> str:
        if form.get("method") != "interceptOrder":
            return "method must be interceptOrder"
        key, t, param, sign = (form.get(name, "") for name in ("key", "t", "param", "sign"))
        secret = self.accounts.get(key)
        if secret is None:
            return "unknown key"
        if not t.isdigit() or abs(int(t) - time.time() * 1000) > 10 * 60 * 1000:
            return "t must be the time in milliseconds"
        if sign != _md5_upper(param + t + key + secret):
            return "签名错误 (bad sign)"
        try:
            body = json.loads(param)
        except ValueError:
            return "param is not JSON"
        missing = [name for name in REQUIRED if not body.get(name)]
        if missing:
            return f"missing {', '.join(missing)}"
        if body["interceptType"] not in INTERCEPT_TYPES:
            return "bad interceptType"
        return ""

    # --- the courier's answers ----------------------------------------------------------------------------------------

    def callback_form(self, order_id: str, state: str, message: str = "", *, salt: str | None = None) -> dict:
        with self.lock:
            order = self.orders[order_id]
        param = json.dumps(
            {"orderId": order_id, "kuaidinum": order.param["kuaidinum"], "status": state, "message": message},
            ensure_ascii=False,
        )
        return {"param": param, "sign": _md5_upper(param + (order.param["salt"] if salt is None else salt))}

    def answer(self, order_id: str, state: str, message: str = "") -> dict:
        """Send the courier's answer to the order's callbackUrl (or keep it in `outbox`); returns the form."""
        form = self.callback_form(order_id, state, message)
        with self.lock:
            order = self.orders[order_id]
            order.answers.append(state)
            url = order.param["callbackUrl"]
        if not self.deliver:
            with self.lock:
                self.outbox.append((url, form))
            return form
        try:
            httpx.post(url, data=form, timeout=5.0)
        except httpx.HTTPError:
            logger.warning("kuaidi100 simulator: callback to %s failed", url, exc_info=True)
        return form


def _handler_for(sim: Kuaidi100Simulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            logger.debug(format, *args)

        def do_POST(self):  # noqa: N802 - the base class's name
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True))
            status, body = sim.handle(form)
            data = json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout fault)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Local simulator of Kuaidi100's intercept order API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--account", action="append", default=[], help="KEY:SECRET (repeatable)")
    parser.add_argument("--answer", default="SUCCESS", help="the state it answers every intercept with")
    parser.add_argument("--delay", type=float, default=60.0, help="seconds before it answers")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    sim = Kuaidi100Simulator(arguments.host, arguments.port)
    for account in arguments.account:
        key, _, secret = account.partition(":")
        sim.add_account(key, secret)
    sim.auto_answer, sim.auto_delay = arguments.answer or None, arguments.delay
    sim.start()
    print(f"Kuaidi100 intercept simulator on {sim.url}", flush=True)  # noqa: T201 - a console program
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
