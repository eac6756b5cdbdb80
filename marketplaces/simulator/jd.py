"""JD (京东 JOS), simulated: `/jd/routerjson` (form POST, signed). No pushes: JD's are not verified, the desk pulls.

State: refund applications (退款审核单) by id and service orders (服务单) by serviceId, in the shapes the adapter
reads. Every change stamps the record's time (second resolution, Beijing time) and a new `sysVersion` (strictly
increasing per record); an asc write whose sysVersion is not the current one is refused. An agreed refund
application is 审核通过 (1), then at once 京东财务审核通过 (3) unless `finance_holds` keeps it at 1 for a test.

Shapes chosen where MARKETPLACES.md says "not verified" (the adapter reads them by words, not by these codes):
an invalid token = error_response code 19 "token已过期或者不存在…"; a rate limit = code 60 "调用过于频繁…"; a business
refusal = the `_responce` with a code other than "0" and zhDesc. Service order codes: SERVICE_STATUS of the adapter.
"""

import hmac
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

from marketplaces.adapters.base import PlatformError
from marketplaces.adapters.jd import (
    M_ASC_AGREE_RETURN,
    M_ASC_RECEIVE,
    M_ASC_REFUSE,
    M_ASC_SYNC,
    M_ASC_VIEW,
    M_REFUND_LIST,
    M_REFUND_REPLY,
    jd_sign,
    jd_time,
    response_key,
)
from marketplaces.adapters.jd import parse_jd_time as _parse_jd_time
from marketplaces.simulator.base import Fault, PlatformSim

# What each replyRefund status does to a refund application waiting for the seller (0).
REPLY_MOVES = {"1": "1", "2": "2", "6": "6", "9": "9", "10": "10"}


def parse_jd_time(value) -> datetime | None:
    # A time the simulator cannot read is the caller's bad input: a 400 (KeyError/ValueError), never a crash.
    try:
        return _parse_jd_time(value)
    except PlatformError as error:
        raise ValueError(error.message) from None


def _error(code: str, zh: str, en: str) -> dict:
    return {"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}


def _refused(method: str, zh: str, code: str = "10100") -> dict:
    return {response_key(method): {"code": code, "zhDesc": zh, "enDesc": "business refused", "msg": zh}}


class JdSim(PlatformSim):
    name = "jd"
    gateway_path = "/routerjson"

    def __init__(self, server=None):
        super().__init__(server)
        self.refunds: dict[str, dict] = {}
        self.services: dict[str, dict] = {}
        self._ids = itertools.count(int(time.time()) * 10)
        self._last_time: datetime | None = None
        self.finance_holds = False  # True: an agreed refund application stays 审核通过 until finance_approve

    # --- time and versions ------------------------------------------------------------------------------------------

    def _now(self, at: datetime | None = None) -> datetime:
        # Second resolution like JD's times; a record never goes back in time.
        return (at or datetime.now(UTC)).replace(microsecond=0)

    def _touch(self, record: dict, field: str, at: datetime | None = None) -> None:
        now = self._now(at)
        record[field] = jd_time(now)
        record["_modified_at"] = max(now, record.get("_modified_at") or now)
        record["sysVersion"] = int(record.get("sysVersion", 0)) + 1

    # --- the buyer's and the platform's moves ------------------------------------------------------------------------

    def apply_refund(
        self,
        *,
        shop_token: str,
        order_id: str,
        amount: Decimal | str = "10.00",
        reason: str = "不想要了",
        at: datetime | None = None,
    ) -> dict:
        """A buyer's refund application on an unshipped order (cancel before shipping)."""
        with self.lock:
            self.state.shops[shop_token]  # noqa: B018 - an unknown shop is a KeyError (400)
            number = str(next(self._ids))
            record = {
                "id": number,
                "orderId": str(order_id),
                "applyRefundSum": f"{Decimal(str(amount)):.2f}",
                "status": "0",
                "reason": reason,
                "checkTime": "",
                "checkUserName": "",
                "partRefundType": "",
                "_shop": shop_token,
            }
            self._touch(record, "applyTime", at)
            self.refunds[number] = record
            return dict(record)

    def apply_service(
        self,
        *,
        shop_token: str,
        order_id: str,
        customer_expect: str = "10",
        reason: str = "质量问题",
        amount: Decimal | str | None = None,
        at: datetime | None = None,
    ) -> dict:
        """A buyer's service order (return 10, exchange 20, repair 30 in the codes the simulator speaks)."""
        with self.lock:
            self.state.shops[shop_token]  # noqa: B018
            number = str(next(self._ids))
            record = {
                "serviceId": number,
                "orderId": str(order_id),
                "customerExpect": str(customer_expect),
                "serviceStatus": "10",
                "questionDesc": reason,
                "expressCode": "",
                "expressNo": "",
                "approveNotes": "",
                "sysVersion": 0,
                "_shop": shop_token,
            }
            if amount is not None:
                record["applyRefundSum"] = f"{Decimal(str(amount)):.2f}"
            self._touch(record, "applyTime", at)
            record["updateTime"] = record["applyTime"]
            self.services[number] = record
            return dict(record)

    def change_service(self, service_id: str, **fields) -> dict:
        with self.lock:
            record = self.services[service_id]
            record.update(fields)
            self._touch(record, "updateTime")
            return dict(record)

    def change_refund(self, refund_id: str, **fields) -> dict:
        with self.lock:
            record = self.refunds[refund_id]
            record.update(fields)
            # JD gives a refund application no update time: its check time is what a change moves (simulator's
            # choice, so that the checkTime pull sees it).
            self._touch(record, "checkTime")
            return dict(record)

    def buyer_ships_return(self, service_id: str, *, express_code: str, express_no: str) -> dict:
        return self.change_service(service_id, expressCode=express_code, expressNo=express_no)

    def buyer_withdraws(self, platform_id: str) -> dict:
        kind, _sep, number = platform_id.partition(":")
        if kind == "asc":
            return self.change_service(number, serviceStatus="60")
        return self.change_refund(number, status="11")

    def finance_approve(self, refund_id: str, *, ok: bool = True) -> dict:
        return self.change_refund(refund_id, status="3" if ok else "4")

    def complete_service(self, service_id: str) -> dict:
        return self.change_service(service_id, serviceStatus="50")

    def record(self, platform_id: str) -> dict:
        kind, _sep, number = platform_id.partition(":")
        with self.lock:
            return dict((self.services if kind == "asc" else self.refunds)[number])

    # --- control -----------------------------------------------------------------------------------------------------

    def _shop_token(self, data: dict) -> str:
        token = data["shop_token"]
        shop = self.state.shops[token]
        if data.get("shop_id") and str(data["shop_id"]) != shop.shop_id:
            raise ValueError("the shop_id is not the token's shop")
        return token

    def control(self, operation: str, data: dict) -> dict:
        if operation == "demo_apply":
            record = self.apply_refund(
                shop_token=self._shop_token(data),
                order_id=data["order_id"],
                amount=data.get("amount", "10.00"),
                reason=data.get("reason") or "不想要了",
            )
            return {"platform_id": f"refundapply:{record['id']}"}
        if operation == "bulk_apply":
            # Many refund applications at once (the bench's 双11 morning), their times spread over `spread_seconds`.
            token = self._shop_token(data)
            spread = float(data.get("spread_seconds", 0))
            order_ids = list(data["order_ids"])
            now = datetime.now(UTC)
            for n, order_id in enumerate(order_ids):
                at = now - timedelta(seconds=spread * (1 - n / max(1, len(order_ids)))) if spread else None
                self.apply_refund(shop_token=token, order_id=order_id, amount=data.get("amount", "10.00"), at=at)
            return {"count": len(order_ids)}
        if operation == "apply_refund":
            record = self.apply_refund(
                shop_token=self._shop_token(data),
                order_id=data["order_id"],
                amount=data.get("amount", "10.00"),
                reason=data.get("reason") or "不想要了",
            )
            return {"platform_id": f"refundapply:{record['id']}"}
        if operation == "apply_service":
            record = self.apply_service(
                shop_token=self._shop_token(data),
                order_id=data["order_id"],
                customer_expect=str(data.get("customer_expect", "10")),
                reason=data.get("reason") or "质量问题",
            )
            return {"platform_id": f"asc:{record['serviceId']}"}
        if operation == "ship_return":
            shipped = self.buyer_ships_return(
                data["service_id"], express_code=data["express_code"], express_no=data["express_no"]
            )
            return {"record": _public(shipped)}
        if operation == "withdraw":
            return {"record": _public(self.buyer_withdraws(data["platform_id"]))}
        if operation == "record":
            return {"record": _public(self.record(data["platform_id"]))}
        return super().control(operation, data)

    # --- the REST gateway --------------------------------------------------------------------------------------------

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        if subpath != self.gateway_path:
            return self.json_response({"error": "not found"}, 404)
        params = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        params.update(query)
        method = params.get("method", "")
        checked = self._check(params)
        if checked is not None:
            return self.json_response(checked)
        try:
            business = json.loads(params.get("360buy_param_json") or "{}")
        except ValueError:
            business = None
        if not isinstance(business, dict):
            return self.json_response(_error("66", "360buy_param_json 不是 JSON 对象", "Invalid 360buy_param_json"))
        fault = self.take_fault(
            method, kinds=(Fault.RATE_LIMIT, Fault.TIMEOUT, Fault.SERVER_ERROR, Fault.SESSION_EXPIRED)
        )
        if fault == Fault.RATE_LIMIT:
            return self.json_response(_error("60", "调用过于频繁，超过流量限制", "call limited"))
        if fault == Fault.SESSION_EXPIRED:
            return self.json_response(_error("19", "token已过期或者不存在，请重新授权", "Invalid access_token"))
        if fault == Fault.TIMEOUT:
            time.sleep(self.timeout_sleep)
            return self.json_response({"error": "timeout"}, 504)
        if fault == Fault.SERVER_ERROR:
            return self.json_response({"error": "internal"}, 500)
        shop = self.state.shops[params["access_token"]]
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self.json_response(_error("21", "方法不存在", "Invalid method"))
        with self.lock:
            self.record_call(method, business)
            answer = handler(method, business, shop)
        if self.take_fault(method, kinds=(Fault.ACTED_THEN_TIMEOUT,)):
            time.sleep(self.timeout_sleep)
        return self.json_response(answer)

    def _check(self, params: dict) -> dict | None:
        secret = self.state.apps.get(params.get("app_key", ""))
        if secret is None:
            return _error("15", "app_key 不存在", "Invalid app_key")
        if not hmac.compare_digest(jd_sign(params, secret), params.get("sign", "")):
            return _error("17", "签名无效", "Invalid signature")
        if params.get("v") != "2.0":
            return _error("14", "版本号无效", "Invalid version")
        try:
            stamp = parse_jd_time(params.get("timestamp"))
        except ValueError:
            stamp = None
        if stamp is None or abs((datetime.now(UTC) - stamp).total_seconds()) > 600:
            return _error("18", "时间戳无效", "Invalid timestamp")
        shop = self.state.shops.get(params.get("access_token", ""))
        if shop is None or shop.expired or shop.app_key != params["app_key"]:
            return _error("19", "token已过期或者不存在，请重新授权", "Invalid access_token")
        return None

    # --- refund applications -----------------------------------------------------------------------------------------

    @staticmethod
    def _within(record: dict, field: str, start: datetime | None, end: datetime | None) -> bool:
        moment = parse_jd_time(record.get(field))
        if moment is None:
            return start is None and end is None
        return (start is None or moment >= start) and (end is None or moment <= end)

    def m_jingdong_pop_afs_soa_refundapply_queryPageList(self, method: str, params: dict, shop) -> dict:  # noqa: N802
        page = max(1, int(params.get("pageIndex", 1)))
        size = min(50, max(1, int(params.get("pageSize", 10))))
        ids = {part for part in str(params.get("ids") or "").split(",") if part}
        ranges = {
            field: (parse_jd_time(params.get(f"{field}Start")), parse_jd_time(params.get(f"{field}End")))
            for field in ("applyTime", "checkTime")
            if params.get(f"{field}Start") or params.get(f"{field}End")
        }
        found = sorted(
            (
                record
                for record in self.refunds.values()
                if record["_shop"] == shop.token
                and (not ids or record["id"] in ids)
                and (not params.get("status") or record["status"] == str(params["status"]))
                and (not params.get("orderId") or record["orderId"] == str(params["orderId"]))
                and all(self._within(record, field, *bounds) for field, bounds in ranges.items())
            ),
            key=lambda record: (record["applyTime"], record["id"]),
        )
        chunk = found[(page - 1) * size : page * size]
        result = {"success": True, "result": [_public(record) for record in chunk], "totalCount": len(found)}
        return {response_key(method): {"code": "0", "queryResult": result}}

    def m_jingdong_pop_afs_soa_refundapply_replyRefund(self, method: str, params: dict, shop) -> dict:  # noqa: N802
        record = self.refunds.get(str(params.get("id", "")))
        if record is None or record["_shop"] != shop.token:
            return _refused(method, "退款审核单不存在")
        status = str(params.get("status", ""))
        if status not in REPLY_MOVES:
            return _refused(method, "审核状态无效")
        if status != "9" and not str(params.get("remark") or "").strip():
            return _refused(method, "审核备注不能为空")
        if record["status"] != "0":
            return _refused(method, "退款审核单已审核，不能重复审核")
        record["checkUserName"] = str(params.get("checkUserName") or "")
        record["status"] = REPLY_MOVES[status]
        self._touch(record, "checkTime")
        if status == "1" and not self.finance_holds:
            record["_agreed_at"] = time.perf_counter()  # the bench's round trip ends here
            record["status"] = "3"
            self._touch(record, "checkTime")
        return {response_key(method): {"code": "0", "replyResult": {"success": True}}}

    # --- service orders ----------------------------------------------------------------------------------------------

    def _service(self, params: dict, shop) -> dict | None:
        record = self.services.get(str(params.get("serviceId", "")))
        if record is None or record["_shop"] != shop.token:
            return None
        return record

    def m_jingdong_asc_sync_list(self, method: str, params: dict, shop) -> dict:
        start, end = parse_jd_time(params.get("updateTimeBegin")), parse_jd_time(params.get("updateTimeEnd"))
        if start is None or end is None:
            return _refused(method, "updateTimeBegin 与 updateTimeEnd 必须成对")
        page = max(1, int(params.get("pageNumber", 1)))
        size = min(50, max(1, int(params.get("pageSize", 10))))
        found = sorted(
            (
                record
                for record in self.services.values()
                if record["_shop"] == shop.token and self._within(record, "updateTime", start, end)
            ),
            key=lambda record: (record["updateTime"], record["serviceId"]),
        )
        chunk = found[(page - 1) * size : page * size]
        result = {"success": True, "data": [_public(record) for record in chunk], "totalCount": len(found)}
        return {response_key(method): {"code": "0", "pageResult": result}}

    def m_jingdong_asc_query_view(self, method: str, params: dict, shop) -> dict:
        record = self._service(params, shop)
        if record is None:
            return _refused(method, "服务单不存在")
        return {response_key(method): {"code": "0", "result": {"success": True, "data": _public(record)}}}

    def _asc_write(self, method: str, params: dict, shop, *, allowed: set, **fields) -> dict:
        for name in ("buId", "operatePin", "operateNick"):
            if not params.get(name):
                return _refused(method, f"{name} 不能为空")
        record = self._service(params, shop)
        if record is None:
            return _refused(method, "服务单不存在")
        if str(params.get("sysVersion", "")) != str(record["sysVersion"]):
            return _refused(method, "服务单版本号已变更，请刷新后重试", code="10201")
        if record["serviceStatus"] not in allowed:
            return _refused(method, "服务单当前状态不允许此操作")
        record.update(fields)
        self._touch(record, "updateTime")
        return {response_key(method): {"code": "0", "result": {"success": True}}}

    def m_jingdong_asc_audit_delivery(self, method: str, params: dict, shop) -> dict:
        return self._asc_write(
            method, params, shop, allowed={"10"}, serviceStatus="31", approveNotes=params.get("approveNotes", "")
        )

    def m_jingdong_asc_audit_refuse(self, method: str, params: dict, shop) -> dict:
        return self._asc_write(
            method, params, shop, allowed={"10"}, serviceStatus="20", approveNotes=params.get("approveNotes", "")
        )

    def m_jingdong_asc_receive_register(self, method: str, params: dict, shop) -> dict:
        states = {key: params.get(key) for key in ("packingState", "qualityState", "appearanceState")}
        if any(value not in (1, 2) for value in states.values()):
            return _refused(method, "拆包登记状态无效")
        return self._asc_write(
            method,
            params,
            shop,
            allowed={"31"},
            serviceStatus="32",
            receiveRemark=str(params.get("receiveRemark") or ""),
            **states,
        )


# The adapter's method names, checked against the handlers at import: a renamed constant fails loudly here.
for _method in (M_REFUND_LIST, M_REFUND_REPLY, M_ASC_SYNC, M_ASC_VIEW, M_ASC_REFUSE, M_ASC_AGREE_RETURN, M_ASC_RECEIVE):
    assert hasattr(JdSim, "m_" + _method.replace(".", "_")), _method  # noqa: S101


def _public(record: dict) -> dict:
    return {key: value for key, value in record.items() if not key.startswith("_")}
