"""拼多多 (Pinduoduo), simulated: the REST gateway `/pinduoduo/api/router` (form-encoded, signed calls with the
documented parameters and states) and PMC, the WebSocket the desk opens at `/pinduoduo/message/{client_id}/{ts_ms}/
{sign}` and on which the platform sends a message whenever a record changes.

State: records by after_sales_id. Every change moves `updated_time` (Unix s) strictly forward. An agreed refund
becomes 10 退款成功 at once. What a buyer or the platform does (apply, ship a return, withdraw, step in) is a method
and a control operation, each sending its PMC message to the shop's app.

Faults (simulator/base.py): rate_limit → error_code 52101; session_expired → 10019; timeout → sleeps past the
client's timeout before acting; acted_then_timeout → acts, then sleeps; server_error → HTTP 502; duplicate_push and
out_of_order_push apply to the next PMC message. A PMC message stays pending until it is acknowledged and is sent
again to the app's next connection.

Shapes chosen where MARKETPLACES.md says "not verified" (the adapter reads them the same way): the success object
is `<something>_response`; the list answers {total_count, refund_list}; a signature or parameter error is
error_code 10016/10000 with the reason in error_msg; a business refusal is 10000-range with sub_msg; the detail's
integer refund_amount is 分 here (the adapter never reads it as money); PMC topics `pdd_refund_*` with content
{refund_id, tid, refund_fee, modified} (integrator names).
"""

import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx

from marketplaces.simulator.base import Fault, PlatformSim

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
DAY = 24 * 3600
WINDOW_MAX = 1800
SIGN_ERROR = 10016
PARAM_ERROR = 10000
BUSINESS_ERROR = 10001
RATE_LIMIT = 52101
TOKEN_EXPIRED = 10019
# The list's type filter (1 全部 …) → the record's type (1 仅退款, 2 退货退款, 3 换货, 4 补寄, 5 维修).
FILTER_TYPES = {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
WAITING_SELLER = {2, 3, 14, 21, 33}  # the statuses whose detail carries expire_time
METHODS = (
    "pdd.refund.list.increment.get",
    "pdd.refund.information.get",
    "pdd.refund.agree",
    "pdd.refund.returngoods.agree",
    "pdd.rdc.pddgenius.sendgoods.cancel",
    "pdd.nextone.logistics.warehouse.update",
)


@dataclass
class Record:
    after_sales_id: str
    mall_id: str
    order_sn: str
    after_sales_type: int  # the record's numbering: 1 仅退款, 2 退货退款, 3 换货, 4 补寄, 5 维修
    refund_amount: int  # 分
    created_time: int
    updated_time: int
    after_sale_reason: str = "不想要了"
    status: int = 2
    expire_time: int = 0
    tracking_number: str = ""
    shipping_name: str = ""
    return_address_id: str = ""
    join_or_not: int = 0
    cutoff: dict = field(default_factory=dict)
    warehouse: dict = field(default_factory=dict)

    @property
    def platform_id(self) -> str:
        return f"{self.order_sn}:{self.after_sales_id}"


class PmcSession:
    """One desk connection on PMC: its WebSocket and the app it signed in as."""

    def __init__(self, connection, client_id: str):
        self.connection = connection
        self.client_id = client_id

    def send(self, frame: dict) -> bool:
        try:
            self.connection.send(json.dumps(frame, ensure_ascii=False))
            return True
        except Exception:  # noqa: BLE001 - a closed socket: the frame stays pending for the next session
            return False


class PinduoduoSim(PlatformSim):
    name = "pinduoduo"
    gateway_path = "/api/router"

    def __init__(self, server=None, *, clock: Callable[[], float] = time.time):
        super().__init__(server)
        self.clock = clock
        self.records: dict[str, Record] = {}
        self.operations: list[tuple[str, str]] = []  # (method, after_sales_id) carried out
        self._ids = itertools.count(90000000001)
        self._frame_ids = itertools.count(1)
        self.sessions: list[PmcSession] = []
        self.pmc_pending: dict[str, dict[str, dict]] = {}  # client_id → frame id → frame, until acknowledged
        self.pmc_acks: list[str] = []
        self.pmc_heartbeats = 0
        self.pmc_refused = 0
        self._pmc_held: dict | None = None

    def now(self) -> int:
        return int(self.clock())

    # --- the buyers' and the platform's moves -----------------------------------------------------------------------

    def _touch(self, record: Record, *, deadline_days: float | None = None) -> None:
        record.updated_time = max(self.now(), record.updated_time + 1)
        record.expire_time = record.updated_time + int(deadline_days * DAY) if deadline_days else 0

    def apply(
        self,
        *,
        mall_id: str,
        order_sn: str,
        after_sales_type: int = 1,
        refund_amount: int = 5900,
        reason: str = "不想要了",
        applied_at: int | None = None,
        push: bool = True,
    ) -> Record:
        """The buyer asks: 2 买家申请退款待商家处理 (3 for a return), the seller has 2 days."""
        with self.lock:
            now = applied_at if applied_at is not None else self.now()
            record = Record(
                after_sales_id=str(next(self._ids)),
                mall_id=str(mall_id),
                order_sn=order_sn,
                after_sales_type=after_sales_type,
                refund_amount=refund_amount,
                created_time=now,
                updated_time=now,
                after_sale_reason=reason,
                status={1: 2, 2: 3}.get(after_sales_type, 14 if after_sales_type in (3, 4) else 21),
                expire_time=now + 2 * DAY,
            )
            self.records[record.after_sales_id] = record
        if push:
            self.push_change(record, "pdd_refund_RefundCreated")
        return record

    def buyer_ships_return(self, after_sales_id: str, *, shipping_name: str, tracking_number: str, push=True):
        with self.lock:
            record = self.records[after_sales_id]
            if record.status != 7:
                raise ValueError(f"status {record.status}: no return to ship")
            record.status, record.shipping_name, record.tracking_number = 3, shipping_name, tracking_number
            self._touch(record, deadline_days=10)
        if push:
            self.push_change(record, "pdd_refund_RefundBuyerReturnGoods")
        return record

    def buyer_withdraws(self, after_sales_id: str, *, push: bool = True) -> Record:
        with self.lock:
            record = self.records[after_sales_id]
            record.status = 11
            self._touch(record)
        if push:
            self.push_change(record, "pdd_refund_RefundClosed")
        return record

    def platform_steps_in(self, after_sales_id: str, *, outcome: str = "review", push: bool = True) -> Record:
        """平台介入: "review" 8 平台处理中, "buyer" 5 平台同意退款中 then 10, "merchant" 9 平台拒绝关闭."""
        with self.lock:
            record = self.records[after_sales_id]
            record.join_or_not = 1
            record.status = {"review": 8, "buyer": 10, "merchant": 9}[outcome]
            self._touch(record)
        if push:
            self.push_change(record, "pdd_refund_RefundPlatformIntervened")
        return record

    def bulk_apply(self, *, mall_id: str, order_sns: list[str], amount_fen: int, spread_seconds: int) -> int:
        """Many buyers' 仅退款 spread over the last `spread_seconds` (the bench's 双11 morning), without pushes."""
        now = self.now()
        count = len(order_sns)
        with self.lock:
            for index, order_sn in enumerate(order_sns):
                at = now - spread_seconds + (spread_seconds * index) // max(count, 1)
                self.apply(mall_id=mall_id, order_sn=order_sn, refund_amount=amount_fen, applied_at=at, push=False)
        return count

    def _shop_of_token(self, token: str):
        return self.state.shops.get(token)

    def control(self, operation: str, data: dict) -> dict:
        if operation == "demo_apply":
            # make run's buyer: 仅退款 on an order not shipped; the amount in 元.
            shop = self._shop_of_token(data.get("shop_token", ""))
            record = self.apply(
                mall_id=data.get("shop_id") or (shop.shop_id if shop else ""),
                order_sn=data["order_id"],
                after_sales_type=1,
                refund_amount=int(Decimal(str(data["amount"])) * 100),
                reason=data.get("reason") or "不想要了",
            )
            return {"platform_id": record.platform_id}
        if operation == "bulk_apply":
            shop = self._shop_of_token(data.get("shop_token", ""))
            count = self.bulk_apply(
                mall_id=data.get("shop_id") or (shop.shop_id if shop else ""),
                order_sns=[str(order) for order in data["order_ids"]],
                amount_fen=int(Decimal(str(data.get("amount", "59.00"))) * 100),
                spread_seconds=int(data.get("spread_seconds", 1800)),
            )
            return {"count": count}
        if operation == "apply":
            return {"record": asdict(self.apply(**data))}
        if operation == "ship_return":
            return {"record": asdict(self.buyer_ships_return(**data))}
        if operation == "withdraw":
            return {"record": asdict(self.buyer_withdraws(data["after_sales_id"]))}
        if operation == "platform":
            return {"record": asdict(self.platform_steps_in(data["after_sales_id"], outcome=data["outcome"]))}
        if operation == "records":
            with self.lock:
                return {"records": [asdict(record) for record in self.records.values()]}
        return super().control(operation, data)

    # --- the gateway -----------------------------------------------------------------------------------------------

    @staticmethod
    def expected_sign(params: dict[str, str], secret: str) -> str:
        text = "".join(f"{key}{value}" for key, value in sorted(params.items()) if key != "sign")
        return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()  # noqa: S324

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        if subpath != self.gateway_path:
            return self.json_response(_error(PARAM_ERROR, f"no such path {subpath}"), 404)
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params.update({key: value for key, value in query.items() if key not in params})
        status, answer = self.answer(params)
        return self.json_response(answer, status)

    def answer(self, params: dict[str, str]) -> tuple[int, dict]:
        method = params.get("type", "")
        secret = self.state.apps.get(params.get("client_id", ""))
        if method not in METHODS:
            return 200, _error(PARAM_ERROR, f"unknown type {method}")
        if secret is None or params.get("data_type") != "JSON" or params.get("version", "V1") != "V1":
            return 200, _error(PARAM_ERROR, "client_id, data_type or version is wrong")
        if not hmac.compare_digest(self.expected_sign(params, secret), params.get("sign", "")):
            return 200, _error(SIGN_ERROR, "签名错误")
        stamp = params.get("timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 600:
            return 200, _error(PARAM_ERROR, "timestamp 无效 (seconds)")
        fault = self.take_fault(
            method, kinds=(Fault.RATE_LIMIT, Fault.TIMEOUT, Fault.SERVER_ERROR, Fault.SESSION_EXPIRED)
        )
        if fault == Fault.TIMEOUT:
            time.sleep(self.timeout_sleep)
            return 200, _error(52102, "服务不可用")
        if fault == Fault.SERVER_ERROR:
            return 502, {"message": "bad gateway"}
        if fault == Fault.RATE_LIMIT:
            return 200, _error(RATE_LIMIT, "限流，请稍后重试")
        shop = self.state.shops.get(params.get("access_token", ""))
        if fault == Fault.SESSION_EXPIRED or (shop is not None and shop.expired):
            return 200, _error(TOKEN_EXPIRED, "access_token已过期")
        if shop is None or shop.app_key != params.get("client_id"):
            return 200, _error(TOKEN_EXPIRED, "access_token不存在")
        pushes: list[tuple[Record, str]] = []
        with self.lock:
            self.record_call(method, params)
            handler = getattr(self, "m_" + method.replace(".", "_"))
            answer = handler(shop.shop_id, params, pushes)
        for record, topic in pushes:
            self.push_change(record, topic)
        if self.take_fault(method, kinds=(Fault.ACTED_THEN_TIMEOUT,)):
            time.sleep(self.timeout_sleep)
        return 200, answer

    def _visible(self, mall_id: str, params: dict, id_key: str = "after_sales_id", order_key: str = "order_sn"):
        record = self.records.get(params.get(id_key, ""))
        if record is None or record.mall_id != mall_id or record.order_sn != params.get(order_key):
            return None
        return record

    def m_pdd_refund_list_increment_get(self, mall_id: str, params: dict, pushes: list) -> dict:
        try:
            page, size = int(params["page"]), int(params["page_size"])
            kind, status_filter = int(params["after_sales_type"]), int(params["after_sales_status"])
            start, end = int(params["start_updated_at"]), int(params["end_updated_at"])
        except (KeyError, ValueError):
            return _error(PARAM_ERROR, "page, page_size, after_sales_type, after_sales_status, start/end required")
        order_sn = params.get("order_sn") or ""
        if page < 1 or not 0 < size <= 100 or kind not in (1, *FILTER_TYPES):
            return _error(PARAM_ERROR, "page from 1, page_size 1–100, after_sales_type 1–6")
        if not order_sn and not 0 <= end - start <= WINDOW_MAX:
            return _error(PARAM_ERROR, "start_updated_at and end_updated_at at most 30 minutes apart")
        matching = [
            record
            for record in self.records.values()
            if record.mall_id == mall_id
            and (record.order_sn == order_sn if order_sn else start <= record.updated_time <= end)
            and (kind == 1 or FILTER_TYPES[kind] == record.after_sales_type)
            and status_filter in (1, record.status)
        ]
        matching.sort(key=lambda record: (record.updated_time, record.after_sales_id))
        chunk = matching[(page - 1) * size : page * size]
        return {
            "refund_increment_get_response": {"total_count": len(matching), "refund_list": [_item(r) for r in chunk]}
        }

    def m_pdd_refund_information_get(self, mall_id: str, params: dict, pushes: list) -> dict:
        record = self._visible(mall_id, params)
        if record is None:
            return _error(BUSINESS_ERROR, "售后单不存在")
        return {"refund_information_get_response": _detail(record)}

    def m_pdd_refund_agree(self, mall_id: str, params: dict, pushes: list) -> dict:
        record = self._visible(mall_id, params)
        if record is None:
            return _error(BUSINESS_ERROR, "售后单不存在")
        if not (record.status == 2 or (record.status == 3 and record.tracking_number)):
            return {"refund_agree_response": {"succ": False, "message": f"当前售后状态({record.status})不允许同意退款"}}
        record.status = 10  # 商家同意, the money moves at once here
        self._touch(record)
        self.operations.append(("pdd.refund.agree", record.after_sales_id))
        pushes.append((record, "pdd_refund_RefundAgreeAgreement"))
        return {"refund_agree_response": {"succ": True, "message": ""}}

    def m_pdd_refund_returngoods_agree(self, mall_id: str, params: dict, pushes: list) -> dict:
        record = self._visible(mall_id, params)
        if record is None:
            return _error(BUSINESS_ERROR, "售后单不存在")
        if not params.get("return_address_id"):
            return _error(PARAM_ERROR, "return_address_id required")
        if record.status != 3 or record.tracking_number:
            return {"refund_returngoods_agree_response": {"succ": False, "message": f"状态({record.status})不允许"}}
        record.status, record.return_address_id = 7, params["return_address_id"]
        self._touch(record, deadline_days=7)
        self.operations.append(("pdd.refund.returngoods.agree", record.after_sales_id))
        pushes.append((record, "pdd_refund_RefundAgreeReturn"))
        return {"refund_returngoods_agree_response": {"succ": True, "message": ""}}

    def m_pdd_rdc_pddgenius_sendgoods_cancel(self, mall_id: str, params: dict, pushes: list) -> dict:
        record = self._visible(mall_id, params, "refund_id", "tid")
        if record is None:
            return _error(BUSINESS_ERROR, "售后单不存在")
        status = params.get("status")
        if status not in ("SUCCESS", "FAIL") or not params.get("refund_fee", "").isdigit():
            return _error(PARAM_ERROR, "status SUCCESS/FAIL and refund_fee (分) required")
        if not params.get("operate_time", "").isdigit() or len(params["operate_time"]) < 13:
            return _error(PARAM_ERROR, "operate_time in milliseconds")
        if status == "FAIL" and params.get("fail_reason_code") not in ("1001", "1002", "1003"):
            return _error(PARAM_ERROR, "fail_reason_code 1001/1002/1003 required for FAIL")
        record.cutoff = {key: params.get(key) for key in ("status", "fail_reason_code", "refund_fee", "operate_time")}
        return {"rdc_pddgenius_sendgoods_cancel_response": {"success": True}}

    def m_pdd_nextone_logistics_warehouse_update(self, mall_id: str, params: dict, pushes: list) -> dict:
        record = self._visible(mall_id, params)
        if record is None:
            return _error(BUSINESS_ERROR, "售后单不存在")
        if params.get("warehouse_status") not in ("1", "2") or not params.get("operate_time", "").isdigit():
            return _error(PARAM_ERROR, "warehouse_status 1/2 and operate_time required")
        record.warehouse = {
            key: params.get(key) for key in ("warehouse_status", "operate_time", "reverse_tracking_number")
        }
        return {"nextone_logistics_warehouse_update_response": {"success": True}}

    # --- PMC ---------------------------------------------------------------------------------------------------------

    @staticmethod
    def expected_pmc_sign(client_id: str, timestamp_ms: str, secret: str) -> str:
        import base64

        digest = hashlib.md5(f"{client_id}{timestamp_ms}{secret}".encode()).hexdigest()  # noqa: S324
        return base64.b64encode(digest.encode()).decode()

    def websocket(self, subpath: str, sock, headers: dict) -> None:
        """A desk's PMC connection (the server's handler hands over its socket): the sign is checked, pending
        messages are sent, acks and heartbeats are read until the socket closes."""
        from websockets.exceptions import ConnectionClosed
        from websockets.server import ServerProtocol
        from websockets.sync.connection import Connection

        parts = [part for part in subpath.split("/") if part]
        protocol = ServerProtocol(max_size=2**20)
        # The handler has read the request already: it is handed to the protocol as bytes, so its parser moves on
        # to WebSocket frames as it does after a handshake it read itself.
        head = f"GET /pinduoduo{subpath} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        protocol.receive_data((head + "\r\n").encode("latin-1"))
        [request] = protocol.events_received()
        client_id = parts[1] if len(parts) == 4 and parts[0] == "message" else ""
        secret = self.state.apps.get(client_id)
        valid = (
            secret is not None
            and parts[2].isdigit()
            and abs(int(parts[2]) / 1000 - time.time()) <= 600
            and hmac.compare_digest(self.expected_pmc_sign(client_id, parts[2], secret), parts[3])
        )
        response = protocol.accept(request) if valid else protocol.reject(401, "PMC sign invalid\n")
        protocol.send_response(response)
        sock.sendall(b"".join(protocol.data_to_send()))
        if response.status_code != 101:
            with self.lock:
                self.pmc_refused += 1
            return
        connection = Connection(sock, protocol, ping_interval=None, close_timeout=1)
        session = PmcSession(connection, client_id)
        with self.lock:
            self.sessions.append(session)
            pending = list(self.pmc_pending.get(client_id, {}).values())
        for frame in pending:
            session.send(frame)
        try:
            while True:
                raw = connection.recv()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if frame.get("commandType") == "Ack":
                    with self.lock:
                        if self.pmc_pending.get(client_id, {}).pop(str(frame.get("id")), None) is not None:
                            self.pmc_acks.append(str(frame.get("id")))
                elif frame.get("commandType") == "HeartBeat":
                    with self.lock:
                        self.pmc_heartbeats += 1
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                if session in self.sessions:
                    self.sessions.remove(session)

    def push_change(self, record: Record, topic: str) -> None:
        """One PMC message to every connection of the shop's app; faults may duplicate it or hold it back."""
        client_id = next((shop.app_key for shop in self.state.shops.values() if shop.shop_id == record.mall_id), "")
        if not client_id:
            return
        now_ms = int(time.time() * 1000)
        content = {
            "refund_id": int(record.after_sales_id),
            "tid": record.order_sn,
            "refund_fee": record.refund_amount,
            "bill_type": record.after_sales_type,
            "modified": _china(record.updated_time),
        }
        frame = {
            "id": str(next(self._frame_ids)),
            "commandType": "Common",
            "time": now_ms,
            "sendTime": now_ms,
            "message": {
                "type": topic,
                "mallID": int(record.mall_id) if record.mall_id.isdigit() else record.mall_id,
                "content": json.dumps(content, ensure_ascii=False),
            },
        }
        fault = self.take_fault("push", kinds=(Fault.DUPLICATE_PUSH, Fault.OUT_OF_ORDER_PUSH))
        with self.lock:
            if fault == Fault.OUT_OF_ORDER_PUSH:
                self._pmc_held = {**frame, "_client": client_id}
                return
            out = [frame, frame] if fault == Fault.DUPLICATE_PUSH else [frame]
            if self._pmc_held is not None:
                held = self._pmc_held
                self._pmc_held = None
                out.append({key: value for key, value in held.items() if key != "_client"})
            for item in out:
                self.pmc_pending.setdefault(client_id, {})[item["id"]] = item
            sessions = [session for session in self.sessions if session.client_id == client_id]
        for item in out:
            self.pushes_sent += 1
            for session in sessions:
                session.send(item)

    def pmc_unacked(self) -> int:
        with self.lock:
            return sum(len(frames) for frames in self.pmc_pending.values())

    def stop(self) -> None:
        with self.lock:
            sessions = list(self.sessions)
        for session in sessions:
            try:
                session.connection.close()
            except Exception:  # noqa: BLE001, S110 - already gone
                pass

    # --- in-process -------------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """The same gateway without sockets (the benchmark's bulk load): gateway_url `http://pdd.sim/api/router`."""

        def answer(request: httpx.Request) -> httpx.Response:
            status, headers, payload = self.handle(
                self.gateway_path, dict(parse_qsl(request.url.query.decode())), {}, request.content
            )
            return httpx.Response(status, headers=headers, content=payload)

        return httpx.MockTransport(answer)


def _error(code: int, message: str) -> dict:
    return {
        "error_response": {
            "error_code": code,
            "error_msg": message,
            "sub_code": str(code),
            "sub_msg": message,
            "request_id": "sim",
        }
    }


def _china(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _item(record: Record) -> dict:
    yuan = f"{Decimal(record.refund_amount) / 100:.2f}"
    return {
        "id": int(record.after_sales_id),
        "order_sn": record.order_sn,
        "after_sales_type": record.after_sales_type,
        "after_sales_status": record.status,
        "refund_amount": yuan,
        "order_amount": yuan,
        "discount_amount": "0.00",
        "after_sale_reason": record.after_sale_reason,
        "tracking_number": record.tracking_number,
        "shipping_name": record.shipping_name,
        "created_time": _china(record.created_time),
        "updated_time": _china(record.updated_time),
        "speed_refund_flag": 0,
        "speed_refund_status": "",
        "user_shipping_status": "1" if record.tracking_number else "0",
        "dispute_refund_status": 0,
        "goods_id": 1000,
    }


def _detail(record: Record) -> dict:
    return {
        **_item(record),
        "refund_amount": record.refund_amount,  # an integer here; its unit is not verified at PDD
        "expire_time": _china(record.expire_time) if record.status in WAITING_SELLER and record.expire_time else "",
        "express_no": record.tracking_number,
        "shipping_status": 0,
        "join_or_not": record.join_or_not,
        "images": [],
    }
