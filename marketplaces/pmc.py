"""拼多多's PMC (push message channel): a WebSocket the desk opens to the platform, one per app (client_id), on which
the platform sends a message when a shop's record changes. A thin caller: each message only names a record (topic
names and content are NOT VERIFIED, MARKETPLACES.md §3), services.push_message_apply reads and applies it, and the
message is acknowledged only after that; one not applied stays unacknowledged, the platform sends it again, and the
pull brings the record anyway.

The client sends a heartbeat every 5 s and reconnects after 3 min without a word from the platform or on any
error (backing off up to a minute), as the platform's SDK does.

Where PMC answers: `MARKETPLACE_PDD_PMC_URL` when set (production: PDD's message host, NOT VERIFIED here, so it is
a setting to fill in from the console); otherwise the connection's gateway URL without `/api/router`, in ws(s)://,
which is where the local simulator serves it.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import close_old_connections

from desk.input_checks import InputRejected, loads_json
from marketplaces.adapters.pinduoduo import PLATFORM_CODE, pmc_ack, pmc_path, pmc_push_message
from marketplaces.selectors import connection_for_platform_shop
from marketplaces.services import push_message_apply

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
SILENCE_SECONDS = 180.0
MAX_BACKOFF_SECONDS = 60.0
MAX_FRAME_BYTES = 1 << 20


def pmc_base_url(gateway_url: str) -> str:
    override = getattr(settings, "MARKETPLACE_PDD_PMC_URL", "")
    if override:
        return override.rstrip("/")
    parts = urlsplit(gateway_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.removesuffix('/').removesuffix('/api/router')}"


def pmc_handle(*, app_key: str, frame: dict) -> bool:
    """One Common frame: True when it may be acknowledged (applied, or it names nothing the desk can read)."""
    message = pmc_push_message(frame)
    if message is None:
        logger.info("PMC frame %s names no after-sales record: acknowledged, nothing read", frame.get("id"))
        return True
    close_old_connections()  # a long-lived thread: a connection the database dropped is replaced
    connection = connection_for_platform_shop(
        platform_code=PLATFORM_CODE, app_key=app_key, platform_shop_id=message.shop_id
    )
    if connection is None:
        logger.info("PMC message for mall %s, which no enabled connection has: acknowledged", message.shop_id)
        return True
    return push_message_apply(connection=connection, message=message)


class PmcClient:
    """One app's channel. `handle(frame) -> bool` decides the ack (pmc_handle in production; tests may wrap it)."""

    def __init__(
        self,
        *,
        base_url: str,
        app_key: str,
        app_secret: str,
        stop: threading.Event | None = None,
        handle: Callable[[dict], bool] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        silence_seconds: float = SILENCE_SECONDS,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.stop = stop or threading.Event()
        self.handle = handle or (lambda frame: pmc_handle(app_key=app_key, frame=frame))
        self.heartbeat_seconds = heartbeat_seconds
        self.silence_seconds = silence_seconds
        self.acked = 0
        self.sessions = 0

    def url(self) -> str:
        stamp = int(time.time() * 1000)
        return self.base_url + pmc_path(client_id=self.app_key, timestamp_ms=stamp, secret=self.app_secret)

    def run(self) -> None:
        """Until `stop` is set: connect, serve, and reconnect after any end, backing off while it keeps failing."""
        from websockets.exceptions import WebSocketException

        delay = 1.0
        while not self.stop.is_set():
            try:
                self.serve_once()
                delay = 1.0
            except (OSError, WebSocketException, TimeoutError) as error:
                logger.warning("PMC %s: %s; reconnecting in %.0f s", self.app_key, error.__class__.__name__, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def serve_once(self) -> None:
        """One connection: frames in, acks and heartbeats out, until silence, a close or `stop`."""
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        with connect(self.url(), open_timeout=10, close_timeout=2, ping_interval=None, max_size=MAX_FRAME_BYTES) as ws:
            self.sessions += 1
            heard = beat = time.monotonic()
            while not self.stop.is_set():
                try:
                    raw = ws.recv(timeout=min(self.heartbeat_seconds, 1.0))
                except TimeoutError:
                    raw = None
                except ConnectionClosed:
                    return
                now = time.monotonic()
                if raw is not None:
                    heard = now
                    self._frame(ws, raw)
                elif now - heard > self.silence_seconds:
                    logger.info("PMC %s: silent for %.0f s, reconnecting", self.app_key, now - heard)
                    return
                if now - beat >= self.heartbeat_seconds:
                    ws.send(json.dumps({"commandType": "HeartBeat", "time": _now_ms(), "sendTime": _now_ms()}))
                    beat = now

    def _frame(self, ws, raw) -> None:
        try:
            frame = loads_json(raw if isinstance(raw, bytes | str) else bytes(raw))
        except InputRejected:
            logger.warning("PMC %s: a frame that is not JSON, ignored", self.app_key)
            return
        if not isinstance(frame, dict):
            return
        command = frame.get("commandType")
        if command == "Common":
            try:
                applied = self.handle(frame)
            except Exception:
                # Not acknowledged: the platform sends it again, the pull brings the record anyway.
                logger.exception("PMC %s: frame %s not applied", self.app_key, frame.get("id"))
                return
            if applied:
                ws.send(json.dumps(pmc_ack(frame), ensure_ascii=False))
                self.acked += 1
        elif command == "Fail":
            logger.warning("PMC %s: the platform reports a failure: %s", self.app_key, str(frame)[:500])


def _now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)
