"""A local 抖店 open platform for tests, the benchmark and `make run`: the after-sales gateway calls the adapter
makes, with their documented shapes, signatures and states, and the signed pushes the platform sends.

State lives in memory in one DouyinSimulator; `serve()` puts it behind a real HTTP server on 127.0.0.1. What a
buyer or the platform does (apply, ship a return, withdraw, step in) is a method, so a test plays the other side.

Faults, armed with `inject(path, fault, times)`:
- "timeout": the connection closes before anything is done (the client sees no answer);
- "acted_then_timeout": the call is carried out, then the connection closes without an answer;
- "rate_limit": code 60000 isv.traffic-limited;
- "session_expired": code 40003 isv.access-token-expired (also `expire_token()` for every call);
- "server_error": HTTP 502.
Pushes: `push_body()` signs a list of messages; `duplicate` and `reverse` make the platform's replays and
out-of-order deliveries.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

OK = 10000
BUSINESS = 50002  # 业务处理失败: the platform understood and refused
PATHS = (
    "/afterSale/List",
    "/afterSale/Detail",
    "/afterSale/operate",
    "/afterSale/applyLogisticsIntercept",
    "/afterSale/CancelSendGoodsSuccess",
    "/afterSale/submitEvidence",
)
FAULTS = ("timeout", "acted_then_timeout", "rate_limit", "session_expired", "server_error")
DAY = 24 * 3600


class Dropped(Exception):
    """Close the connection without an answer."""


@dataclass
class Record:
    aftersale_id: str
    shop_id: str
    order_id: str
    sku_order_id: str
    aftersale_type: int
    refund_amount: int  # 分
    apply_time: int
    update_time: int
    reason: str = "质量问题"
    reason_remark: str = ""
    sub_type: int = 0
    status: int = 6
    refund_status: int = 0
    arbitrate_status: int = 0
    status_deadline: int = 0
    return_tracking_no: str = ""
    return_company_code: str = ""
    return_company_name: str = ""
    return_address_id: int = 0
    closed_by: str = ""  # "buyer" or "system" once status 28
    real_refund_amount: int = 0
    evidence: list = field(default_factory=list)
    cutoff_reported_at: int = 0
    intercepts: list = field(default_factory=list)


class DouyinSimulator:
    def __init__(
        self,
        *,
        app_key: str = "7100000000000000001",
        app_secret: str = "simulator-secret",  # noqa: S107 - the simulator's own, public by design
        shops: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        intercept_possible: bool = True,
    ):
        self.app_key, self.app_secret = app_key, app_secret
        self.tokens = dict(shops or {"simulator-token": "88001"})  # access_token → shop_id
        self.expired: set[str] = set()
        self.clock = clock
        self.intercept_possible = intercept_possible
        self.records: dict[str, Record] = {}
        self.calls: list[tuple[str, dict]] = []  # every signed call that reached the state (path, params)
        self.operations: list[tuple[int, str]] = []  # (operate type, aftersale_id) carried out
        self._faults: list[list[Any]] = []
        self._ids = itertools.count(7300000000001)
        self._lock = threading.RLock()

    # --- the other side: buyers and the platform -------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def _touch(self, record: Record, *, deadline_days: float | None = None) -> None:
        record.update_time = max(self.now(), record.update_time + 1)  # a version moves forward on every change
        record.status_deadline = record.update_time + int(deadline_days * DAY) if deadline_days else 0

    def apply(
        self,
        *,
        order_id: str,
        aftersale_type: int = 1,
        refund_amount: int = 12900,
        shop_id: str = "88001",
        reason: str = "质量问题",
        reason_remark: str = "",
        sub_type: int = 0,
        aftersale_id: str | None = None,
        applied_at: int | None = None,
    ) -> Record:
        """The buyer asks for an after-sale: status 6 待商家同意, the seller has 2 days."""
        with self._lock:
            now = applied_at if applied_at is not None else self.now()
            record = Record(
                aftersale_id=aftersale_id or str(next(self._ids)),
                shop_id=shop_id,
                order_id=order_id,
                sku_order_id=f"{order_id}1",
                aftersale_type=aftersale_type,
                refund_amount=refund_amount,
                apply_time=now,
                update_time=now,
                reason=reason,
                reason_remark=reason_remark,
                sub_type=sub_type,
                status_deadline=now + 2 * DAY,
            )
            self.records[record.aftersale_id] = record
            return record

    def buyer_ships_return(self, aftersale_id: str, *, company_code: str, tracking_no: str, company_name: str = ""):
        with self._lock:
            record = self.records[aftersale_id]
            if record.status != 7:
                raise ValueError(f"status {record.status}: no return to ship")
            record.status = 11
            record.return_company_code, record.return_tracking_no = company_code, tracking_no
            record.return_company_name = company_name or company_code
            self._touch(record, deadline_days=10)
            return record

    def buyer_withdraws(self, aftersale_id: str) -> Record:
        with self._lock:
            record = self.records[aftersale_id]
            record.status, record.closed_by = 28, "buyer"
            self._touch(record)
            return record

    def buyer_modifies(self, aftersale_id: str, *, reason: str, refund_amount: int | None = None) -> Record:
        with self._lock:
            record = self.records[aftersale_id]
            record.reason = reason
            if refund_amount is not None:
                record.refund_amount = refund_amount
            self._touch(record, deadline_days=2)
            return record

    def platform_steps_in(self, aftersale_id: str, arbitrate_status: int) -> Record:
        """仲裁: 1 客服处理中, 4 待商家举证, 2 支持买家 (the refund succeeds), 3 支持卖家 (the after-sale fails)."""
        with self._lock:
            record = self.records[aftersale_id]
            record.arbitrate_status = arbitrate_status
            if arbitrate_status == 2:
                self._refund(record)
            elif arbitrate_status == 3:
                record.status, record.closed_by = 28, "system"
            self._touch(record, deadline_days=2 if arbitrate_status in (1, 4, 5) else None)
            return record

    def _refund(self, record: Record) -> None:
        record.status, record.refund_status, record.real_refund_amount = 12, 3, record.refund_amount

    # --- faults ----------------------------------------------------------------------------------------------------

    def inject(self, path: str, fault: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(fault)
        with self._lock:
            self._faults.append([path, fault, times])

    def expire_token(self, token: str) -> None:
        self.expired.add(token)

    def _take_fault(self, path: str) -> str:
        with self._lock:
            for armed in self._faults:
                if armed[0] in (path, "*") and armed[2] > 0:
                    armed[2] -= 1
                    return armed[1]
        return ""

    # --- the gateway -----------------------------------------------------------------------------------------------

    def expected_sign(self, *, method: str, param_json: str, timestamp: str, sign_method: str) -> str:
        text = (
            self.app_secret
            + "app_key"
            + self.app_key
            + "method"
            + method
            + "param_json"
            + param_json
            + "timestamp"
            + timestamp
            + "v2"
            + self.app_secret
        ).encode()
        if sign_method == "md5":
            return hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme
        return hmac.new(self.app_secret.encode(), text, hashlib.sha256).hexdigest()

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict]:
        """One gateway call: (HTTP status, answer). Raises Dropped for a connection closed without an answer."""
        if path not in PATHS:
            return 404, {"code": 70000, "msg": "API不存在", "sub_code": "isv.api-not-exist", "sub_msg": path}
        param_text = body.decode("utf-8", "replace")
        method = path.strip("/").replace("/", ".")
        if query.get("app_key") != self.app_key or query.get("method") != method or query.get("v") != "2":
            return 200, _error(40003, "isv.parameter-invalid", "app_key, method or v is wrong")
        sign_method = query.get("sign_method", "md5")
        expected = self.expected_sign(
            method=method, param_json=param_text, timestamp=query.get("timestamp", ""), sign_method=sign_method
        )
        if not hmac.compare_digest(expected, query.get("sign", "")):
            return 200, _error(40003, "isv.signature-invalid", "签名无效")
        # The skew check reads the wall clock, not `clock` (which tests move to play the records' history).
        if not query.get("timestamp", "").isdigit() or abs(int(query["timestamp"]) - time.time()) > 600:
            return 200, _error(40003, "isv.timestamp-invalid", "时间戳无效")
        token = query.get("access_token", "")
        fault = self._take_fault(path)
        if fault == "timeout":
            raise Dropped
        if fault == "server_error":
            return 502, {"message": "bad gateway"}
        if fault == "rate_limit":
            return 200, _error(60000, "isv.traffic-limited", "触发限流，请稍后重试")
        if fault == "session_expired" or token in self.expired:
            return 200, _error(40003, "isv.access-token-expired", "access_token已过期")
        if token not in self.tokens:
            return 200, _error(40003, "isv.access-token-no-existed", "access_token不存在")
        try:
            params = json.loads(param_text or "{}")
        except ValueError:
            return 200, _error(40003, "isv.parameter-invalid", "param_json is not JSON")
        if not isinstance(params, dict):
            return 200, _error(40003, "isv.parameter-invalid", "param_json is not an object")
        with self._lock:
            self.calls.append((path, params))
            answer = getattr(self, "_" + path.rsplit("/", 1)[1])(self.tokens[token], params)
        if fault == "acted_then_timeout":
            raise Dropped
        return 200, answer

    def _visible(self, shop_id: str, aftersale_id) -> Record | None:
        record = self.records.get(str(aftersale_id))
        return record if record is not None and record.shop_id == shop_id else None

    def _List(self, shop_id: str, params: dict) -> dict:
        page, size = params.get("page", 0), params.get("size", 10)
        if not isinstance(page, int) or not isinstance(size, int) or page < 0 or not 0 < size <= 100:
            return _error(40003, "isv.parameter-invalid", "page from 0, size 1–100")
        start, end = params.get("update_start_time"), params.get("update_end_time")
        matching = [
            record
            for record in self.records.values()
            if record.shop_id == shop_id
            and (start is None or record.update_time >= start)
            and (end is None or record.update_time <= end)
        ]
        if "update_time asc" in (params.get("order_by") or []):
            matching.sort(key=lambda record: (record.update_time, record.aftersale_id))
        chunk = matching[page * size : (page + 1) * size]
        return _ok(
            {
                "items": [self._list_item(record) for record in chunk],
                "has_more": (page + 1) * size < len(matching),
                "total": len(matching),
                "page": page,
                "size": size,
            }
        )

    def _list_item(self, record: Record) -> dict:
        return {
            "aftersale_info": {
                "aftersale_id": record.aftersale_id,
                "aftersale_order_type": 1,
                "aftersale_type": record.aftersale_type,
                "aftersale_sub_type": record.sub_type,
                "aftersale_status": record.status,
                "related_id": record.sku_order_id,
                "apply_time": record.apply_time,
                "update_time": record.update_time,
                "status_deadline": record.status_deadline,
                "refund_amount": record.refund_amount,
                "refund_post_amount": 0,
                "refund_tax_amount": 0,
                "refund_status": record.refund_status,
                "arbitrate_status": record.arbitrate_status,
                "return_logistics_code": record.return_tracking_no,
                "return_logistics_company_name": record.return_company_name,
                "got_pkg": 1,
                "part_type": 0,
            },
            "order_info": {
                "shop_order_id": record.order_id,
                "related_order_info": [{"sku_order_id": record.sku_order_id}],
            },
            "text_part": {"reason_text": record.reason},
        }

    def _Detail(self, shop_id: str, params: dict) -> dict:
        record = self._visible(shop_id, params.get("after_sale_id"))
        if record is None:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在")
        detail_type = record.aftersale_type
        if record.status == 28 and record.closed_by == "buyer":
            detail_type = 5  # 用户取消
        return _ok(
            {
                "process_info": {
                    "after_sale_info": {
                        "after_sale_id": int(record.aftersale_id),
                        "after_sale_status": record.status,
                        "after_sale_type": detail_type,
                        "after_sale_sub_type": record.sub_type,
                        "refund_status": record.refund_status,
                        "refund_total_amount": record.refund_amount,
                        "refund_post_amount": 0,
                        "real_refund_amount": record.real_refund_amount,
                        "apply_time": record.apply_time,
                        "update_time": record.update_time,
                        "status_deadline": record.status_deadline,
                        "reason": record.reason,
                        "reason_remark": record.reason_remark,
                        "return_address_id": record.return_address_id,
                        "evidence": [],
                    },
                    "arbitrate_info": {"arbitrate_status": record.arbitrate_status},
                    "logistics_info": {
                        "return": {
                            "tracking_no": record.return_tracking_no,
                            "company_code": record.return_company_code,
                            "company_name": record.return_company_name,
                        }
                    },
                },
                "order_info": {
                    "shop_order_id": int(record.order_id) if record.order_id.isdigit() else record.order_id,
                    "sku_order_infos": [{"sku_order_id": record.sku_order_id}],
                },
            }
        )

    # operate type → (statuses it may start from, kinds it applies to or None for any)
    OPERATES = {
        101: ({6}, {0}),  # 同意退货申请
        102: ({6}, {0}),  # 拒绝退货申请
        111: ({11}, {0}),  # 确认收货并退款
        112: ({11}, {0}),  # 拒绝退货 (二次)
        201: ({6}, {1, 2}),  # 同意仅退款
        202: ({6}, {1, 2}),  # 拒绝仅退款
    }

    def _operate(self, shop_id: str, params: dict) -> dict:
        operate_type, items = params.get("type"), params.get("items")
        if operate_type not in self.OPERATES or not isinstance(items, list) or len(items) != 1:
            return _error(40003, "isv.parameter-invalid", "type or items is not valid")
        item = items[0]
        record = self._visible(shop_id, item.get("aftersale_id") if isinstance(item, dict) else None)
        if record is None:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在")
        version = item.get("update_time")
        if version not in (None, 0) and version != record.update_time:
            return _error(BUSINESS, "isv.business-failed:4005", "售后单已更新，请刷新后重试")
        statuses, kinds = self.OPERATES[operate_type]
        if record.status not in statuses or record.aftersale_type not in kinds:
            return _error(BUSINESS, "isv.business-failed:4006", f"当前售后状态({record.status})不允许该操作")
        if operate_type in (201, 111):
            self._refund(record)
            self._touch(record)
        elif operate_type == 101:
            record.status = 7
            record.return_address_id = int((item.get("logistics") or {}).get("receiver_address_id") or 0)
            self._touch(record, deadline_days=7)
        else:
            record.status = 27 if operate_type in (102, 202) else 29
            self._touch(record, deadline_days=2)
        self.operations.append((operate_type, record.aftersale_id))
        return _ok({"items": [{"aftersale_id": record.aftersale_id, "status_code": 0, "status_msg": "success"}]})

    def _applyLogisticsIntercept(self, shop_id: str, params: dict) -> dict:  # noqa: N802 - the platform's path
        record = self._visible(shop_id, params.get("after_sale_id"))
        targets = params.get("intercept_targets")
        if record is None or not isinstance(targets, list) or not targets:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或无拦截对象")
        record.intercepts.append(targets)
        if not self.intercept_possible:
            return _ok({"can_intercept": False, "is_success": False, "unavailable_reason": "包裹已签收，无法拦截"})
        return _ok({"can_intercept": True, "is_success": True, "unavailable_reason": "", "intercept_cost": 300})

    def _CancelSendGoodsSuccess(self, shop_id: str, params: dict) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("aftersale_id"))
        if record is None or not isinstance(params.get("op_time"), int):
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或op_time无效")
        record.cutoff_reported_at = params["op_time"]
        return _ok({})

    def _submitEvidence(self, shop_id: str, params: dict) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("aftersale_id"))
        evidence = params.get("evidence") or []
        if record is None or not isinstance(evidence, list) or len(evidence) > 4:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或凭证超过4张")
        record.evidence.append({"comment": params.get("comment", ""), "evidence": evidence})
        return _ok({})

    # --- pushes ----------------------------------------------------------------------------------------------------

    def message(self, tag: int, aftersale_id: str, **extra) -> dict:
        """One push message about a record as it stands now; `extra` adds or overrides data fields."""
        record = self.records[aftersale_id]
        data = {
            "aftersale_id": record.aftersale_id,
            "aftersale_status": record.status,
            "aftersale_type": record.aftersale_type,
            "p_id": record.order_id,
            "s_id": record.sku_order_id,
            "shop_id": int(record.shop_id) if record.shop_id.isdigit() else record.shop_id,
            "refund_amount": record.refund_amount,
            "refund_post_amount": 0,
            "reason_code": 0,
            "reason": record.reason,
            "apply_time": record.apply_time,
            "update_time": record.update_time,
            "status_deadline": record.status_deadline,
            **extra,
        }
        return {"tag": str(tag), "msg_id": f"{tag}-{aftersale_id}-{record.update_time}", "data": json.dumps(data)}

    def push_body(
        self, messages: list[dict], *, duplicate: bool = False, reverse: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one signed push: event-sign = MD5(app_key + body + app_secret)."""
        messages = list(reversed(messages)) if reverse else list(messages)
        if duplicate:
            messages = messages + messages
        body = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode()
        signature = hashlib.md5(self.app_key.encode() + body + self.app_secret.encode()).hexdigest()  # noqa: S324
        return body, {"event-sign": signature, "app-id": self.app_key, "Content-Type": "application/json"}

    def send_push(self, url: str, messages: list[dict], **options) -> httpx.Response:
        body, headers = self.push_body(messages, **options)
        return httpx.post(url, content=body, headers=headers, timeout=10)

    # --- serving ---------------------------------------------------------------------------------------------------

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the gateway over HTTP in a thread; yields its base URL."""
        server = ThreadingHTTPServer((host, port), _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="douyin-simulator", daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def transport(self) -> httpx.MockTransport:
        """The same gateway in-process, for the benchmark (no sockets)."""

        def answer(request: httpx.Request) -> httpx.Response:
            query = {key: value for key, value in request.url.params.items()}
            try:
                status, payload = self.handle(request.url.path, query, request.content)
            except Dropped:
                raise httpx.ReadTimeout("simulated: no answer", request=request) from None
            return httpx.Response(status, json=payload)

        return httpx.MockTransport(answer)


def _ok(data: dict) -> dict:
    return {"code": OK, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "sim", "data": data}


def _error(code: int, sub_code: str, sub_msg: str) -> dict:
    return {"code": code, "msg": "error", "sub_code": sub_code, "sub_msg": sub_msg, "log_id": "sim", "data": {}}


def _handler_for(simulator: DouyinSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, payload = simulator.handle(parts.path, query, body)
            except Dropped:
                self.close_connection = True
                return  # nothing written: the client sees the connection close without an answer
            raw = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass

    return Handler
