"""抖店 (Douyin shop), simulated: `/douyin/afterSale/...` (the gateway calls the adapter makes, signed, with their
documented shapes and states) and the signed pushes the platform sends to the desk.

State: records by aftersale_id. Every change moves `update_time` (Unix s) strictly forward, which is the version
operate checks. An agreed refund becomes status 12 / refund_status 3 at once. What a buyer or the platform does
(apply, ship a return, withdraw, modify, step in) is a method and a control operation, each queueing its push.

Faults (the framework's, simulator/base.py): rate_limit → code 60000 isv.traffic-limited; session_expired → 40003
isv.access-token-expired; timeout → sleeps past the client's timeout before acting; acted_then_timeout → acts,
then sleeps; server_error → HTTP 502; duplicate_push and out_of_order_push on the next push.

Shapes chosen where MARKETPLACES.md says "not verified" (the adapter reads them the same way): a business refusal is
code 50002 with sub_code isv.business-failed:<n> and the reason in sub_msg; operate takes one item per call and
answers items[]{aftersale_id, status_code 0, status_msg}; a stale update_time is refused with 4005.
"""

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx

from marketplaces.simulator.base import Fault, PlatformSim

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
DAY = 24 * 3600
BUYER_CANCEL = "buyer_cancel"  # 207's close_reason when the buyer withdrew (the desk's earlier door reads it)


@dataclass
class Record:
    aftersale_id: str
    shop_id: str
    order_id: str
    sku_order_id: str
    aftersale_type: int
    refund_amount: int  # 分, the goods
    apply_time: int
    update_time: int
    reason: str = "质量问题"
    refund_post_amount: int = 0  # 分, the postage refunded besides
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


class DouyinSim(PlatformSim):
    name = "douyin"

    def __init__(self, server=None, *, clock: Callable[[], float] = time.time):
        super().__init__(server)
        self.clock = clock  # the records' clock (tests move it); the signature's skew check reads the wall clock
        self.intercept_possible = True
        self.records: dict[str, Record] = {}
        self.operations: list[tuple[int, str]] = []  # (operate type, aftersale_id) carried out
        self._ids = itertools.count(7300000000001)

    # --- the buyers' and the platform's moves -----------------------------------------------------------------------

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
        refund_post_amount: int = 0,
        shop_id: str = "88001",
        reason: str = "质量问题",
        reason_remark: str = "",
        sub_type: int = 0,
        aftersale_id: str | None = None,
        applied_at: int | None = None,
        push: bool = True,
    ) -> Record:
        """The buyer asks for an after-sale: status 6 待商家同意, the seller has 2 days."""
        with self.lock:
            now = applied_at if applied_at is not None else self.now()
            record = Record(
                aftersale_id=aftersale_id or str(next(self._ids)),
                shop_id=shop_id,
                order_id=order_id,
                sku_order_id=f"{order_id}1",
                aftersale_type=aftersale_type,
                refund_amount=refund_amount,
                refund_post_amount=refund_post_amount,
                apply_time=now,
                update_time=now,
                reason=reason,
                reason_remark=reason_remark,
                sub_type=sub_type,
                status_deadline=now + 2 * DAY,
            )
            self.records[record.aftersale_id] = record
        if push:
            self.push_change(record, 200)
        return record

    def buyer_ships_return(
        self, aftersale_id: str, *, company_code: str, tracking_no: str, company_name: str = "", push: bool = True
    ) -> Record:
        with self.lock:
            record = self.records[aftersale_id]
            if record.status != 7:
                raise ValueError(f"status {record.status}: no return to ship")
            record.status = 11
            record.return_company_code, record.return_tracking_no = company_code, tracking_no
            record.return_company_name = company_name or company_code
            self._touch(record, deadline_days=10)
        if push:
            self.push_change(record, 203, tracking_no=tracking_no, logistics_code=company_code)
        return record

    def buyer_withdraws(self, aftersale_id: str, *, push: bool = True) -> Record:
        with self.lock:
            record = self.records[aftersale_id]
            record.status, record.closed_by = 28, "buyer"
            self._touch(record)
        if push:
            self.push_change(record, 207, close_reason=BUYER_CANCEL)
        return record

    def buyer_modifies(
        self, aftersale_id: str, *, reason: str, refund_amount: int | None = None, push: bool = True
    ) -> Record:
        with self.lock:
            record = self.records[aftersale_id]
            record.reason = reason
            if refund_amount is not None:
                record.refund_amount = refund_amount
            self._touch(record, deadline_days=2)
        if push:
            self.push_change(record, 208)
        return record

    def platform_steps_in(self, aftersale_id: str, arbitrate_status: int, *, push: bool = True) -> Record:
        """仲裁: 1 客服处理中, 4 待商家举证, 2 支持买家 (the refund succeeds), 3 支持卖家 (the after-sale fails)."""
        with self.lock:
            record = self.records[aftersale_id]
            record.arbitrate_status = arbitrate_status
            if arbitrate_status == 2:
                self._refund(record)
            elif arbitrate_status == 3:
                record.status, record.closed_by = 28, "system"
            self._touch(record, deadline_days=2 if arbitrate_status in (1, 4, 5) else None)
        if push:
            self.push_change(record, 212 if arbitrate_status in (1, 4, 5) else 218)
            if arbitrate_status == 2:
                self.push_change(record, 206)
        return record

    def _refund(self, record: Record) -> None:
        record.status, record.refund_status, record.real_refund_amount = 12, 3, record.refund_amount

    def control(self, operation: str, data: dict) -> dict:
        if operation == "demo_apply":
            # make run's buyer: 未发货仅退款 (type 2), the amount in 分.
            record = self.apply(
                shop_id=data["shop_id"],
                order_id=data["order_id"],
                aftersale_type=2,
                refund_amount=int(Decimal(data["amount"]) * 100),
                reason=data["reason"],
            )
            return {"platform_id": record.aftersale_id}
        if operation == "bulk_apply":
            # The bench's 双11 morning: many requests, their times spread over the last `spread_seconds`, not pushed.
            order_ids, spread, now = data["order_ids"], int(data.get("spread_seconds", 0)), self.now()
            for n, order_id in enumerate(order_ids):
                self.apply(
                    shop_id=data["shop_id"],
                    order_id=order_id,
                    aftersale_type=2,
                    refund_amount=int(Decimal(data.get("amount", "10.00")) * 100),
                    applied_at=now - spread + spread * n // max(1, len(order_ids)),
                    push=False,
                )
            return {"count": len(order_ids)}
        if operation == "apply":
            return {"record": asdict(self.apply(**data))}
        if operation == "ship_return":
            return {"record": asdict(self.buyer_ships_return(**data))}
        if operation == "withdraw":
            return {"record": asdict(self.buyer_withdraws(data["aftersale_id"]))}
        if operation == "modify":
            return {"record": asdict(self.buyer_modifies(**data))}
        if operation == "arbitrate":
            return {"record": asdict(self.platform_steps_in(data["aftersale_id"], int(data["arbitrate_status"])))}
        if operation == "records":
            with self.lock:
                return {"records": [asdict(record) for record in self.records.values()]}
        return super().control(operation, data)

    # --- the gateway -----------------------------------------------------------------------------------------------

    def expected_sign(self, *, secret: str, app_key: str, method: str, param_json: str, timestamp: str, md5: bool):
        text = f"{secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2{secret}".encode()
        if md5:
            return hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        status, answer = self.answer(subpath, query, body)
        return self.json_response(answer, status)

    def answer(self, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        """One gateway call: (HTTP status, answer)."""
        if path not in PATHS:
            return 404, {"code": 70000, "msg": "API不存在", "sub_code": "isv.api-not-exist", "sub_msg": path}
        param_text = body.decode("utf-8", "replace")
        method = path.strip("/").replace("/", ".")
        app_key = query.get("app_key", "")
        secret = self.state.apps.get(app_key)
        if secret is None or query.get("method") != method or query.get("v") != "2":
            return 200, _error(40003, "isv.parameter-invalid", "app_key, method or v is wrong")
        expected = self.expected_sign(
            secret=secret,
            app_key=app_key,
            method=method,
            param_json=param_text,
            timestamp=query.get("timestamp", ""),
            md5=query.get("sign_method", "md5") == "md5",
        )
        if not hmac.compare_digest(expected, query.get("sign", "")):
            return 200, _error(40003, "isv.signature-invalid", "签名无效")
        if not query.get("timestamp", "").isdigit() or abs(int(query["timestamp"]) - time.time()) > 600:
            return 200, _error(40003, "isv.timestamp-invalid", "时间戳无效")
        fault = self.take_fault(
            method, kinds=(Fault.RATE_LIMIT, Fault.TIMEOUT, Fault.SERVER_ERROR, Fault.SESSION_EXPIRED)
        )
        if fault == Fault.TIMEOUT:
            time.sleep(self.timeout_sleep)
            return 200, _error(20000, "isp.service-timeout", "服务超时")
        if fault == Fault.SERVER_ERROR:
            return 502, {"message": "bad gateway"}
        if fault == Fault.RATE_LIMIT:
            return 200, _error(60000, "isv.traffic-limited", "触发限流，请稍后重试")
        shop = self.state.shops.get(query.get("access_token", ""))
        if fault == Fault.SESSION_EXPIRED or (shop is not None and shop.expired):
            return 200, _error(40003, "isv.access-token-expired", "access_token已过期")
        if shop is None or shop.app_key != app_key:
            return 200, _error(40003, "isv.access-token-no-existed", "access_token不存在")
        try:
            params = json.loads(param_text or "{}")
        except ValueError:
            return 200, _error(40003, "isv.parameter-invalid", "param_json is not JSON")
        if not isinstance(params, dict):
            return 200, _error(40003, "isv.parameter-invalid", "param_json is not an object")
        pushes: list[tuple[Record, int]] = []
        with self.lock:
            self.record_call(method, params)
            answer = getattr(self, "m_" + path.rsplit("/", 1)[1])(shop.shop_id, params, pushes)
        for record, tag in pushes:
            self.push_change(record, tag)
        if self.take_fault(method, kinds=(Fault.ACTED_THEN_TIMEOUT,)):
            time.sleep(self.timeout_sleep)
        return 200, answer

    def _visible(self, shop_id: str, aftersale_id) -> Record | None:
        record = self.records.get(str(aftersale_id))
        return record if record is not None and record.shop_id == shop_id else None

    def m_List(self, shop_id: str, params: dict, pushes: list) -> dict:  # noqa: N802 - the platform's path
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
                "items": [_list_item(record) for record in chunk],
                "has_more": (page + 1) * size < len(matching),
                "total": len(matching),
                "page": page,
                "size": size,
            }
        )

    def m_Detail(self, shop_id: str, params: dict, pushes: list) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("after_sale_id"))
        if record is None:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在")
        return _ok(_detail(record))

    # operate type → (statuses it may start from, aftersale types it applies to)
    OPERATES = {
        101: ({6}, {0}),  # 同意退货申请
        102: ({6}, {0}),  # 拒绝退货申请
        111: ({11}, {0}),  # 确认收货并退款
        112: ({11}, {0}),  # 拒绝退货 (二次)
        201: ({6}, {1, 2}),  # 同意仅退款
        202: ({6}, {1, 2}),  # 拒绝仅退款
    }

    def m_operate(self, shop_id: str, params: dict, pushes: list) -> dict:
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
            pushes += [(record, 201), (record, 206)]
        elif operate_type == 101:
            record.status = 7
            record.return_address_id = int((item.get("logistics") or {}).get("receiver_address_id") or 0)
            self._touch(record, deadline_days=7)
            pushes.append((record, 202))
        else:
            record.status = 27 if operate_type in (102, 202) else 29
            self._touch(record, deadline_days=2)
            pushes.append((record, 205 if operate_type in (102, 112) else 204))
        self.operations.append((operate_type, record.aftersale_id))
        return _ok({"items": [{"aftersale_id": record.aftersale_id, "status_code": 0, "status_msg": "success"}]})

    def m_applyLogisticsIntercept(self, shop_id: str, params: dict, pushes: list) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("after_sale_id"))
        targets = params.get("intercept_targets")
        if record is None or not isinstance(targets, list) or not targets:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或无拦截对象")
        record.intercepts.append(targets)
        if not self.intercept_possible:
            return _ok({"can_intercept": False, "is_success": False, "unavailable_reason": "包裹已签收，无法拦截"})
        return _ok({"can_intercept": True, "is_success": True, "unavailable_reason": "", "intercept_cost": 300})

    def m_CancelSendGoodsSuccess(self, shop_id: str, params: dict, pushes: list) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("aftersale_id"))
        if record is None or not isinstance(params.get("op_time"), int):
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或op_time无效")
        record.cutoff_reported_at = params["op_time"]
        return _ok({})

    def m_submitEvidence(self, shop_id: str, params: dict, pushes: list) -> dict:  # noqa: N802
        record = self._visible(shop_id, params.get("aftersale_id"))
        evidence = params.get("evidence") or []
        if record is None or not isinstance(evidence, list) or len(evidence) > 4:
            return _error(BUSINESS, "isv.business-failed:4001", "售后单不存在或凭证超过4张")
        record.evidence.append({"comment": params.get("comment", ""), "evidence": evidence})
        return _ok({})

    # --- pushes ----------------------------------------------------------------------------------------------------

    def message(self, tag: int, aftersale_id: str, **extra) -> dict:
        """One push message about a record as it stands now; `extra` adds or overrides data fields."""
        return _message(self.records[aftersale_id], tag, **extra)

    def push_change(self, record: Record, tag: int, **extra) -> None:
        app_key = next((shop.app_key for shop in self.state.shops.values() if shop.shop_id == record.shop_id), "")
        self.queue_push({**_message(record, tag, **extra), "_app_key": app_key})

    def build_push(self, messages: list[dict]) -> tuple[dict, bytes]:
        """event-sign = MD5(app_key + body + app_secret) over the exact body."""
        app_key = messages[0].get("_app_key", "") if messages else ""
        body = json.dumps(
            [{key: value for key, value in message.items() if not key.startswith("_")} for message in messages],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return self.push_headers(app_key, body), body

    def push_headers(self, app_key: str, body: bytes) -> dict:
        secret = self.state.apps.get(app_key, "")
        signature = hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()  # noqa: S324
        return {"Content-Type": "application/json", "app-id": app_key, "event-sign": signature}

    def push_body(
        self, app_key: str, messages: list[dict], *, duplicate: bool = False, reverse: bool = False
    ) -> tuple[bytes, dict]:
        """A signed push built on demand (tests post it themselves): replays and reordering on request."""
        messages = list(reversed(messages)) if reverse else list(messages)
        if duplicate:
            messages = messages + messages
        headers, body = self.build_push([{**message, "_app_key": app_key} for message in messages])
        return body, headers

    # --- in-process -------------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """The same gateway without sockets (the benchmark's bulk load): gateway_url `http://douyin.sim/douyin`."""

        def answer(request: httpx.Request) -> httpx.Response:
            subpath = request.url.path.removeprefix("/douyin")
            status, headers, payload = self.handle(
                subpath, dict(parse_qsl(request.url.query.decode())), {}, request.content
            )
            return httpx.Response(status, headers=headers, content=payload)

        return httpx.MockTransport(answer)


def _ok(data: dict) -> dict:
    return {"code": OK, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "sim", "data": data}


def _error(code: int, sub_code: str, sub_msg: str) -> dict:
    return {"code": code, "msg": "error", "sub_code": sub_code, "sub_msg": sub_msg, "log_id": "sim", "data": {}}


def _message(record: Record, tag: int, **extra) -> dict:
    data = {
        "aftersale_id": record.aftersale_id,
        "aftersale_status": record.status,
        "aftersale_type": record.aftersale_type,
        "p_id": record.order_id,
        "s_id": record.sku_order_id,
        "shop_id": int(record.shop_id) if record.shop_id.isdigit() else record.shop_id,
        "refund_amount": record.refund_amount,
        "refund_post_amount": record.refund_post_amount,
        "reason_code": 0,
        "reason": record.reason,
        "apply_time": record.apply_time,
        "update_time": record.update_time,
        "status_deadline": record.status_deadline,
        **extra,
    }
    return {"tag": str(tag), "msg_id": f"{tag}-{record.aftersale_id}-{record.update_time}", "data": json.dumps(data)}


def _list_item(record: Record) -> dict:
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
            "refund_post_amount": record.refund_post_amount,
            "refund_tax_amount": 0,
            "refund_status": record.refund_status,
            "arbitrate_status": record.arbitrate_status,
            "return_logistics_code": record.return_tracking_no,
            "return_logistics_company_name": record.return_company_name,
            "got_pkg": 1,
            "part_type": 0,
        },
        "order_info": {"shop_order_id": record.order_id, "related_order_info": [{"sku_order_id": record.sku_order_id}]},
        "text_part": {"reason_text": record.reason},
    }


def _detail(record: Record) -> dict:
    # The detail tells a buyer's withdrawal apart: after_sale_type 5 用户取消 (4 系统取消 is never produced here).
    detail_type = 5 if record.status == 28 and record.closed_by == "buyer" else record.aftersale_type
    return {
        "process_info": {
            "after_sale_info": {
                "after_sale_id": int(record.aftersale_id),
                "after_sale_status": record.status,
                "after_sale_type": detail_type,
                "after_sale_sub_type": record.sub_type,
                "refund_status": record.refund_status,
                "refund_total_amount": record.refund_amount + record.refund_post_amount,
                "refund_post_amount": record.refund_post_amount,
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
