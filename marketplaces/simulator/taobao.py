"""Taobao / Tmall TOP, simulated: `/taobao/router/rest` (form POST, signed), and TMC pushes relayed to the desk.

State: refunds by refund_id in TOP's record shape. Every change stamps `modified` (GMT+8, seconds) and a new
`refund_version` (ms, strictly increasing). An agreed refund becomes SUCCESS at once.

Shapes chosen where MARKETPLACES.md says "not verified" (the adapter reads them the same way): rate limit = code 7,
invalid session = code 27, the SMS-code demand = code 15 with sub_code `isv.refund-agree-need-code` (验证码).
"""

import email
import email.policy
import hmac
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

from marketplaces.adapters.taobao import (
    TAOBAO_AGREE_LIMITS,
    TMALL_AGREE_LIMITS,
    parse_top_time,
    tmc_sign,
    top_sign,
    top_time,
)
from marketplaces.simulator.base import Fault, PlatformSim

AGREEABLE = {"WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"}
OPEN = {"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS", "SELLER_REFUSE_BUYER"}


def _error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> dict:
    return {"error_response": {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg, "request_id": "sim"}}


class TaobaoSim(PlatformSim):
    name = "taobao"
    gateway_path = "/router/rest"

    def __init__(self, server=None):
        super().__init__(server)
        self.refunds: dict[str, dict] = {}
        self._ids = itertools.count(int(time.time()) * 1000)
        self._last_version = 0
        # Above this many 元 in one agreement call the platform asks for the SMS code (a simulator setting).
        self.sms_threshold = Decimal("5000.00")
        self.response_hours = 48

    # --- the buyer's and the platform's moves ------------------------------------------------------------------------

    def _stamp(self, refund: dict, at: datetime | None = None) -> None:
        now = at or datetime.now(UTC)
        version = max(self._last_version + 1, int(now.timestamp() * 1000))
        self._last_version = version
        refund["modified"] = top_time(now)
        refund["_modified_at"] = now.replace(microsecond=0)  # what the pull filters and sorts on, parsed once
        refund["refund_version"] = str(version)

    def _deadline(self, refund: dict, hours: int | None = None) -> None:
        if hours is None:
            refund["refund_remind_timeout"] = {"exist_timeout": "false"}
        else:
            due = datetime.now(UTC) + timedelta(hours=hours)
            refund["refund_remind_timeout"] = {"exist_timeout": "true", "remind_type": 1, "timeout": top_time(due)}

    def create_refund(
        self,
        *,
        shop_token: str,
        tid: str,
        amount: Decimal | str,
        dispute_type: str = "REFUND",
        reason: str = "不想要了",
        desc: str = "",
        oid: str = "",
        good_status: str = "BUYER_NOT_RECEIVED",
        at: datetime | None = None,
        push: bool = True,
        special_refund_type: str = "",
    ) -> dict:
        """A buyer's request; `special_refund_type` (priceProtect 价保, cashBack 退差返现) makes it a special refund,
        listed by taobao.special.refunds.receive.get instead of the normal list."""
        with self.lock:
            shop = self.state.shops[shop_token]
            refund_id = str(next(self._ids))
            now = at or datetime.now(UTC)
            refund = {
                "refund_id": refund_id,
                "tid": tid,
                "oid": oid or tid,
                "status": "WAIT_SELLER_AGREE",
                "dispute_type": dispute_type,
                "refund_fee": f"{Decimal(str(amount)):.2f}",
                "total_fee": f"{Decimal(str(amount)):.2f}",
                "payment": f"{Decimal(str(amount)):.2f}",
                "reason": reason,
                "desc": desc,
                "good_status": good_status,
                "has_good_return": "true" if dispute_type == "REFUND_AND_RETURN" else "false",
                "company_name": "",
                "sid": "",
                "created": top_time(now),
                "refund_phase": "aftersale" if good_status == "BUYER_RECEIVED" else "onsale",
                "cs_status": "1",
                "advance_status": "0",
                "seller_nick": shop.shop_id,
                "_shop": shop_token,
            }
            if special_refund_type:
                refund["special_refund_type"] = special_refund_type
                refund.pop("dispute_type")
            self._deadline(refund, self.response_hours)
            self._stamp(refund, now)
            self.refunds[refund_id] = refund
        if push:
            self.push_change(refund, "taobao_refund_RefundCreated")
        return dict(refund)

    def change(self, refund_id: str, topic: str, *, push: bool = True, **fields) -> dict:
        """Any move of the buyer or the platform: set fields, stamp a new version, push the topic."""
        with self.lock:
            refund = self.refunds[refund_id]
            deadline_hours = fields.pop("deadline_hours", "keep")
            refund.update(fields)
            if deadline_hours != "keep":
                self._deadline(refund, deadline_hours)
            self._stamp(refund)
            snapshot = dict(refund)
        if push:
            self.push_change(snapshot, topic)
        return snapshot

    def buyer_ship_return(self, refund_id: str, *, company: str, sid: str) -> dict:
        return self.change(
            refund_id,
            "taobao_refund_RefundBuyerReturnGoods",
            status="WAIT_SELLER_CONFIRM_GOODS",
            company_name=company,
            sid=sid,
            deadline_hours=240,
        )

    def buyer_close(self, refund_id: str) -> dict:
        return self.change(refund_id, "taobao_refund_RefundClosed", status="CLOSED", deadline_hours=None)

    def buyer_modify(self, refund_id: str, *, reason: str) -> dict:
        return self.change(refund_id, "taobao_refund_RefundBuyerModifyAgreement", reason=reason)

    def platform_intervene(self, refund_id: str) -> dict:
        return self.change(refund_id, "taobao_refund_TaobaoIntervened", cs_status="3")

    def platform_rule(self, refund_id: str, *, for_buyer: bool) -> dict:
        status = "SUCCESS" if for_buyer else "CLOSED"
        topic = "taobao_refund_RefundSuccess" if for_buyer else "taobao_refund_RefundClosed"
        return self.change(refund_id, topic, status=status, cs_status="6", deadline_hours=None)

    def snapshot(self, refund_id: str) -> dict:
        with self.lock:
            return dict(self.refunds[refund_id])

    # --- pushes (TMC relayed over HTTP) ------------------------------------------------------------------------------

    def push_change(self, refund: dict, topic: str) -> None:
        shop = self.state.shops.get(refund.get("_shop", ""))
        content = {
            "refund_id": refund["refund_id"],
            "tid": refund["tid"],
            "oid": refund["oid"],
            "refund_fee": refund["refund_fee"],
            "refund_phase": refund["refund_phase"],
            "bill_type": "return_bill" if refund["dispute_type"] == "REFUND_AND_RETURN" else "refund_bill",
            "seller_nick": refund["seller_nick"],
            "modified": refund["modified"],
        }
        self.queue_push(
            {
                "id": str(next(self._ids)),
                "topic": topic,
                "user_id": shop.shop_id if shop else "",
                "pub_time": refund["modified"],
                "content": json.dumps(content, ensure_ascii=False),
                "_app_key": shop.app_key if shop else "",
            }
        )

    def build_push(self, messages: list[dict]) -> tuple[dict, bytes]:
        app_key = messages[0].get("_app_key", "") if messages else ""
        secret = self.state.apps.get(app_key, "")
        stamp = str(int(time.time() * 1000))
        body = json.dumps(
            [{k: v for k, v in message.items() if not k.startswith("_")} for message in messages], ensure_ascii=False
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Tmc-App-Key": app_key,
            "X-Tmc-Group": "default",
            "X-Tmc-Timestamp": stamp,
            "X-Tmc-Sign": tmc_sign(app_key=app_key, group_name="default", timestamp_ms=stamp, secret=secret),
        }
        return headers, body

    # --- the REST gateway --------------------------------------------------------------------------------------------

    def control(self, operation: str, data: dict) -> dict:
        if operation == "demo_apply":
            # make run's buyer: 未发货仅退款 on one order.
            refund = self.create_refund(
                shop_token=data["shop_token"], tid=data["order_id"], amount=data["amount"], reason=data["reason"]
            )
            return {"platform_id": refund["refund_id"]}
        if operation == "create_refund":
            return {"refund": _public(self.create_refund(**data))}
        if operation == "bulk_apply":
            # The bench's 双11 morning, asked the same way of every simulated platform.
            data = {"shop_token": data["shop_token"], "tids": data["order_ids"], **data}
            operation = "create_refunds"
        if operation == "create_refunds":
            # Many requests at once (the bench's 双11 morning), their times spread over the last `spread_seconds`.
            spread = float(data.get("spread_seconds", 0))
            now = datetime.now(UTC)
            for n, tid in enumerate(data["tids"]):
                at = now - timedelta(seconds=spread * (1 - n / max(1, len(data["tids"])))) if spread else None
                self.create_refund(
                    shop_token=data["shop_token"],
                    tid=tid,
                    amount=data.get("amount", "10.00"),
                    dispute_type=data.get("dispute_type", "REFUND"),
                    at=at,
                    push=bool(data.get("push", False)),
                )
            return {"created": len(data["tids"]), "count": len(data["tids"])}
        if operation == "ship_return":
            shipped = self.buyer_ship_return(data["refund_id"], company=data["company"], sid=data["sid"])
            return {"refund": _public(shipped)}
        if operation == "close":
            return {"refund": _public(self.buyer_close(data["refund_id"]))}
        if operation == "refund":
            return {"refund": _public(self.snapshot(data["refund_id"]))}
        if operation == "refunds":
            with self.lock:
                return {"refunds": [_public(refund) for refund in self.refunds.values()]}
        return super().control(operation, data)

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        if subpath != "/router/rest":
            return self.json_response({"error": "not found"}, 404)
        params, files = _form(headers, body)
        params.update(query)
        method = params.get("method", "")
        checked = self._check(params)
        if checked is not None:
            return self.json_response(checked)
        fault = self.take_fault(
            method, kinds=(Fault.RATE_LIMIT, Fault.TIMEOUT, Fault.SERVER_ERROR, Fault.SESSION_EXPIRED)
        )
        if fault == Fault.RATE_LIMIT:
            return self.json_response(_error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count"))
        if fault == Fault.SESSION_EXPIRED:
            return self.json_response(_error(27, "Invalid session", "session-expired", "SessionKey过期"))
        if fault == Fault.TIMEOUT:
            time.sleep(self.timeout_sleep)
            return self.json_response(_error(15, "Remote service timeout", "isp.timeout"))
        if fault == Fault.SERVER_ERROR:
            return self.json_response({"error": "internal"}, 500)
        shop = self.state.shops[params["session"]]
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self.json_response(_error(22, "Invalid method", "isv.invalid-method"))
        with self.lock:
            # A file parameter is recorded by its size (the tests check what travelled, not the bytes).
            self.record_call(
                method, {k: v for k, v in params.items() if k != "sign"} | {k: len(v) for k, v in files.items()}
            )
            answer = handler(params | {f"_file_{name}": data for name, data in files.items()}, shop)
        if self.take_fault(method, kinds=(Fault.ACTED_THEN_TIMEOUT,)):
            time.sleep(self.timeout_sleep)
        return self.json_response(answer)

    def _check(self, params: dict) -> dict | None:
        secret = self.state.apps.get(params.get("app_key", ""))
        if secret is None:
            return _error(29, "Invalid app Key", "isv.appkey-not-exists")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in ("md5", "hmac"):
            return _error(25, "Invalid signature", "isv.invalid-sign-method")
        expected = top_sign(params, secret, sign_method)
        if not hmac.compare_digest(expected, params.get("sign", "")):
            return _error(25, "Invalid signature")
        try:
            stamp = parse_top_time(params.get("timestamp"))
        except ValueError:
            stamp = None
        if stamp is None or abs((datetime.now(UTC) - stamp).total_seconds()) > 600:
            return _error(31, "Invalid timestamp")
        shop = self.state.shops.get(params.get("session", ""))
        if shop is None or shop.expired or shop.app_key != params["app_key"]:
            return _error(27, "Invalid session", "session-expired", "SessionKey非法或过期")
        return None

    def _shop_refund(self, refund_id: str, shop) -> dict | None:
        refund = self.refunds.get(str(refund_id))
        if refund is None or refund.get("_shop") != shop.token:
            return None
        return refund

    def m_taobao_refunds_receive_get(self, params: dict, shop) -> dict:
        return {"refunds_receive_get_response": self._receive(params, shop, special=False)}

    def m_taobao_special_refunds_receive_get(self, params: dict, shop) -> dict:
        return {"special_refunds_receive_get_response": self._receive(params, shop, special=True)}

    def _receive(self, params: dict, shop, *, special: bool) -> dict:
        start = parse_top_time(params.get("start_modified"))
        end = parse_top_time(params.get("end_modified"))
        page = max(1, int(params.get("page_no", 1)))
        size = min(100, max(1, int(params.get("page_size", 40))))
        status = params.get("status", "")
        found = sorted(
            (
                refund
                for refund in self.refunds.values()
                if refund["_shop"] == shop.token
                and bool(refund.get("special_refund_type")) == special
                and (not status or refund["status"] == status)
                and (start is None or refund["_modified_at"] >= start)
                and (end is None or refund["_modified_at"] <= end)
            ),
            key=lambda refund: (refund["_modified_at"], refund["refund_id"]),
        )
        chunk = found[(page - 1) * size : page * size]
        body = {"refunds": {"refund": [_public(refund) for refund in chunk]}}
        if params.get("use_has_next") == "true":
            body["has_next"] = page * size < len(found)
        else:
            body["total_results"] = len(found)
        return body

    def m_taobao_refund_get(self, params: dict, shop) -> dict:
        refund = self._shop_refund(params.get("refund_id", ""), shop)
        if refund is None:
            return _error(15, "Remote service error", "isv.refund-not-exist", "退款单不存在")
        return {"refund_get_response": {"refund": _public(refund)}}

    def m_taobao_rp_refunds_agree(self, params: dict, shop) -> dict:
        infos = [info.split("|") for info in params.get("refund_infos", "").split(",") if info]
        most, most_amount = TMALL_AGREE_LIMITS if shop.is_tmall else TAOBAO_AGREE_LIMITS
        total = sum((Decimal(info[1]) / 100 for info in infos), Decimal(0))
        if len(infos) > most or total > most_amount:
            return _error(15, "Remote service error", "isv.refund-agree-over-limit", "超过单次同意退款的上限")
        if total > self.sms_threshold and not params.get("code"):
            return _error(15, "Remote service error", "isv.refund-agree-need-code", "需要短信验证码")
        results = []
        for info in infos:
            refund_id, fen, version = info[0], int(info[1]), info[2]
            refund = self._shop_refund(refund_id, shop)
            if refund is None:
                results.append({"refund_id": refund_id, "succ": False, "message": "退款单不存在"})
            elif refund["refund_version"] != version:
                results.append({"refund_id": refund_id, "succ": False, "message": "退款版本已变更"})
            elif refund["status"] not in AGREEABLE:
                results.append({"refund_id": refund_id, "succ": False, "message": "当前状态不能同意退款"})
            elif Decimal(fen) / 100 != Decimal(refund["refund_fee"]):
                results.append({"refund_id": refund_id, "succ": False, "message": "退款金额不一致"})
            else:
                refund["status"] = "SUCCESS"
                refund["_agreed_at"] = time.perf_counter()  # the bench's round trip ends here
                self._deadline(refund, None)
                self._stamp(refund)
                results.append({"refund_id": refund_id, "succ": True, "message": ""})
                self.push_change(dict(refund), "taobao_refund_RefundSuccess")
        succeeded = sum(1 for result in results if result["succ"])
        msg_code = "OP_SUCC" if succeeded == len(results) else ("SOME_OP_SUCC" if succeeded else "OP_FAILURE_UE")
        return {
            "rp_refunds_agree_response": {
                "msg_code": msg_code,
                "msg": "",
                "results": {"refund_mapping_result": results},
            }
        }

    def _write(self, params: dict, shop, method_key: str, *, allowed: set, topic: str, **fields) -> dict:
        refund = self._shop_refund(params.get("refund_id", ""), shop)
        if refund is None:
            return _error(15, "Remote service error", "isv.refund-not-exist", "退款单不存在")
        if params.get("refund_version") and params["refund_version"] != refund["refund_version"]:
            return _error(15, "Remote service error", "isv.refund-version-changed", "退款版本已变更")
        if refund["status"] not in allowed:
            return _error(15, "Remote service error", "isv.refund-status-invalid", "当前状态不允许此操作")
        if fields:
            deadline_hours = fields.pop("deadline_hours", "keep")
            refund.update(fields)
            if deadline_hours != "keep":
                self._deadline(refund, deadline_hours)
            self._stamp(refund)
            self.push_change(dict(refund), topic)
        return {method_key: {"is_success": True, "modified": refund["modified"]}}

    def m_taobao_rp_returngoods_agree(self, params: dict, shop) -> dict:
        return self._write(
            params,
            shop,
            "rp_returngoods_agree_response",
            allowed={"WAIT_SELLER_AGREE"},
            topic="taobao_refund_RefundSellerAgreeAgreement",
            status="WAIT_BUYER_RETURN_GOODS",
            deadline_hours=168,
        )

    def m_taobao_refund_refuse(self, params: dict, shop) -> dict:
        proof = params.get("_file_refuse_proof")
        if proof is not None and len(proof) > 130_000:
            return _error(15, "Remote service error", "isv.invalid-parameter", "refuse_proof ≤130000 字节")
        message = params.get("refuse_message", "")
        if not 2 <= len(message) <= 200:
            return _error(15, "Remote service error", "isv.invalid-parameter", "refuse_message 长度 2–200")
        return self._write(
            params,
            shop,
            "refund_refuse_response",
            allowed={"WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"},
            topic="taobao_refund_RefundSellerRefuseAgreement",
            status="SELLER_REFUSE_BUYER",
            deadline_hours=120,
        )

    def m_taobao_rp_refund_intercept(self, params: dict, shop) -> dict:
        return self._write(params, shop, "rp_refund_intercept_response", allowed=OPEN, topic="")

    def m_taobao_rdc_aligenius_sendgoods_cancel(self, params: dict, shop) -> dict:
        try:
            param = json.loads(params.get("param", "{}"))
        except ValueError:
            return _error(41, "Invalid arguments", "isv.invalid-parameter")
        return self._write(
            {"refund_id": param.get("refund_id", "")},
            shop,
            "rdc_aligenius_sendgoods_cancel_response",
            allowed=OPEN | {"SUCCESS", "CLOSED"},
            topic="",
        )

    def m_taobao_refund_message_add(self, params: dict, shop) -> dict:
        image = params.get("_file_image")
        if not image or len(image) > 500 * 1024:
            return _error(40, "Missing required arguments", "isv.missing-parameter:image", "image 必填，≤500K")
        return self._write(params, shop, "refund_message_add_response", allowed=OPEN | {"SUCCESS", "CLOSED"}, topic="")


def _form(headers: dict, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """TOP's form: urlencoded, or multipart when it carries files (their bytes apart from the text fields)."""
    content_type = next((value for key, value in headers.items() if key.lower() == "content-type"), "")
    if not content_type.startswith("multipart/form-data"):
        return dict(parse_qsl(body.decode(), keep_blank_values=True)), {}
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body, policy=email.policy.HTTP
    )
    params: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files[str(name)] = data
        else:
            params[str(name)] = data.decode()
    return params, files


def _public(refund: dict) -> dict:
    return {key: value for key, value in refund.items() if not key.startswith("_")}
