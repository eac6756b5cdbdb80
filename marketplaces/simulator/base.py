"""What every simulated platform shares: its apps and shop tokens, its faults, its call log, its pushes."""

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import httpx

logger = logging.getLogger(__name__)


class Fault:
    RATE_LIMIT = "rate_limit"
    SESSION_EXPIRED = "session_expired"
    TIMEOUT = "timeout"  # sleeps before doing anything: nothing happened
    ACTED_THEN_TIMEOUT = "acted_then_timeout"  # does it, then sleeps past the client's timeout
    SERVER_ERROR = "server_error"  # HTTP 500 before doing anything
    DUPLICATE_PUSH = "duplicate_push"  # the next push is sent twice
    OUT_OF_ORDER_PUSH = "out_of_order_push"  # the next push is held and sent after the one that follows it

    ALL = (RATE_LIMIT, SESSION_EXPIRED, TIMEOUT, ACTED_THEN_TIMEOUT, SERVER_ERROR, DUPLICATE_PUSH, OUT_OF_ORDER_PUSH)


@dataclass
class PlannedFault:
    kind: str
    method: str = "*"  # the API method it hits ("*": any)
    times: int = 1


@dataclass
class Shop:
    shop_id: str
    token: str
    app_key: str
    is_tmall: bool = False
    expired: bool = False


@dataclass
class PlatformState:
    apps: dict[str, str] = field(default_factory=dict)  # app_key -> secret
    shops: dict[str, Shop] = field(default_factory=dict)  # token -> shop
    faults: list[PlannedFault] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)  # (method, params) of every accepted call


class PlatformSim:
    """One platform. Subclasses implement `handle` (the REST gateway) and their own record shapes."""

    name = ""
    # Where the platform's REST gateway answers under /<name> (Taobao: /router/rest); the connection's gateway URL is
    # the simulator's URL + /<name> + gateway_path.
    gateway_path = ""

    def __init__(self, server=None):
        self.server = server
        self.lock = threading.RLock()
        self.state = PlatformState()
        self.timeout_sleep = 2.0  # longer than the tests' client timeout
        self.push_target: str | None = None
        self._pushes: deque = deque()
        self._held_push = None
        self._push_event = threading.Event()
        self._push_thread: threading.Thread | None = None
        self.pushes_sent = 0

    # --- set-up -------------------------------------------------------------------------------------------------

    def add_app(self, app_key: str, secret: str) -> None:
        with self.lock:
            self.state.apps[app_key] = secret

    def add_shop(self, *, shop_id: str, token: str, app_key: str, is_tmall: bool = False) -> None:
        with self.lock:
            self.state.shops[token] = Shop(shop_id=shop_id, token=token, app_key=app_key, is_tmall=is_tmall)

    def expire_session(self, token: str, expired: bool = True) -> None:
        with self.lock:
            self.state.shops[token].expired = expired

    def inject(self, kind: str, *, method: str = "*", times: int = 1) -> None:
        if kind not in Fault.ALL:
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.state.faults.append(PlannedFault(kind, method, times))

    def take_fault(self, method: str, kinds=None) -> str | None:
        with self.lock:
            for fault in self.state.faults:
                if fault.method not in ("*", method) or (kinds and fault.kind not in kinds):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.state.faults.remove(fault)
                return fault.kind
        return None

    def calls_of(self, method: str) -> list[dict]:
        with self.lock:
            return [params for name, params in self.state.calls if name == method]

    def record_call(self, method: str, params: dict) -> None:
        with self.lock:
            self.state.calls.append((method, dict(params)))

    # --- the gateway -----------------------------------------------------------------------------------------------

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError

    def control(self, operation: str, data: dict) -> dict:
        """The simulator's own control API (`POST /_control/<platform>/<operation>`), for `make run` and the bench
        when it runs as a separate process. Subclasses add the buyer's and the platform's moves."""
        if operation == "app":
            self.add_app(data["app_key"], data["secret"])
        elif operation == "shop":
            self.add_shop(
                shop_id=data["shop_id"],
                token=data["token"],
                app_key=data["app_key"],
                is_tmall=bool(data.get("is_tmall")),
            )
        elif operation == "expire":
            self.expire_session(data["token"], bool(data.get("expired", True)))
        elif operation == "fault":
            self.inject(data["kind"], method=data.get("method", "*"), times=int(data.get("times", 1)))
        elif operation == "push_target":
            self.push_target = data.get("url") or None
        elif operation == "calls":
            return {"calls": self.calls_of(data["method"])}
        else:
            raise KeyError(operation)
        return {"ok": True}

    @staticmethod
    def json_response(body: dict, status: int = 200) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json;charset=UTF-8"}, json.dumps(body, ensure_ascii=False).encode()

    # --- pushes ------------------------------------------------------------------------------------------------------

    def build_push(self, messages: list[dict]) -> tuple[dict, bytes]:
        """(headers, body) of one signed push; each platform signs its own way."""
        raise NotImplementedError

    def queue_push(self, message: dict) -> None:
        """Queue one message for the desk; faults may duplicate it or swap it with the next one."""
        if not self.push_target:
            return
        fault = self.take_fault("push", kinds=(Fault.DUPLICATE_PUSH, Fault.OUT_OF_ORDER_PUSH))
        with self.lock:
            if fault == Fault.OUT_OF_ORDER_PUSH:
                self._held_push = message
                return
            self._pushes.append(message)
            if fault == Fault.DUPLICATE_PUSH:
                self._pushes.append(message)
            if self._held_push is not None:
                self._pushes.append(self._held_push)
                self._held_push = None
        self._ensure_push_thread()
        self._push_event.set()

    def _ensure_push_thread(self) -> None:
        if self._push_thread is None or not self._push_thread.is_alive():
            self._push_thread = threading.Thread(target=self._push_loop, name=f"{self.name}-push", daemon=True)
            self._push_thread.start()

    def _push_loop(self) -> None:
        # Several deliveries at once (TMC and 抖店 deliver on several connections): a slow answer from the desk holds
        # up only its own batch.
        slots = threading.Semaphore(8)
        while True:
            self._push_event.wait(1.0)
            self._push_event.clear()
            while True:
                with self.lock:
                    if not self._pushes:
                        break
                    batch = [self._pushes.popleft() for _ in range(min(len(self._pushes), 50))]
                slots.acquire()
                threading.Thread(target=self._deliver, args=(batch, slots), daemon=True).start()

    def _deliver(self, batch: list[dict], slots: threading.Semaphore) -> None:
        try:
            target = self.push_target
            if not target:
                return
            headers, body = self.build_push(batch)
            for attempt in range(3):
                try:
                    answer = httpx.post(target, content=body, headers=headers, timeout=30)
                    if answer.status_code < 500:
                        break
                except httpx.HTTPError:
                    logger.warning("push to %s failed (attempt %s)", target, attempt + 1)
                time.sleep(0.2 * (attempt + 1))
        finally:
            with self.lock:
                self.pushes_sent += len(batch)
            slots.release()

    def pushes_pending(self) -> int:
        with self.lock:
            return len(self._pushes) + (1 if self._held_push is not None else 0)
