"""微信小店 / 视频号小店 (WeChat shop), simulated: `/wechat/channels/ec/aftersale/...` (POST JSON, `access_token` in
the query, errcode/errmsg answers) and the encrypted pushes (安全模式) the platform sends to the desk.

State: records by after_sale_order_id. Every change moves `update_time` (Unix s) strictly forward; `deadline` is
kept as an absolute time and answered as the seconds left, as WeChat does. An accepted refund becomes
MERCHANT_REFUND_SUCCESS at once (or PLATFORM_REFUNDING until `platform_pays`, when `refund_instantly` is False).
What a buyer does (apply, ship a return, withdraw) is a method and a control operation, each queueing a push.

Faults (simulator/base.py): rate_limit → errcode 45011; session_expired → 42001; timeout → sleeps past the client's
timeout before acting; acted_then_timeout → acts, then sleeps; server_error → HTTP 500; duplicate_push and
out_of_order_push on the next push.

Shapes chosen where MARKETPLACES.md says nothing (the adapter reads them the same way): a business refusal is
errcode 9710001 with the reason in errmsg; the list answers 100 ids a page and `next_key` is an opaque text;
refundpricediff answers a repeated request_id as done without paying again.

The push crypto here is written apart from the adapter's on purpose (the tests' vectors check both against the
documented rule, so one cannot hide the other's mistake).
"""

import base64
import hashlib
import itertools
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from marketplaces.adapters.base import PUSH_QUERY_HEADER
from marketplaces.simulator.base import Fault, PlatformSim

BUSINESS = 9710001
INVALID_ARGS = 40097
DAY = 24 * 3600
PAGE = 100
APIS = ("getaftersalelist", "getaftersaleorder", "acceptapply", "rejectapply", "refundpricediff")


@dataclass
class Record:
    after_sale_order_id: str
    shop_id: str
    order_id: str
    type: str  # REFUND / RETURN
    amount: int  # 分
    create_time: int
    update_time: int
    status: str = "MERCHANT_PROCESSING"
    reason: str = "quality"
    reason_text: str = "质量问题"
    desc: str = ""
    sku_id: str = ""
    deadline_at: int = 0  # absolute; answered as seconds left
    delivery_id: str = ""
    delivery_name: str = ""
    waybill_id: str = ""
    address_id: str = ""
    reject_reason: str = ""
    complete_time: int = 0


@dataclass
class PushKeys:
    token: str
    encoding_aes_key: str


def make_encoding_aes_key(seed: str) -> str:
    """43 Base64 characters (a 32-byte key), derived from a text so the demo can print and reuse it."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode().rstrip("=")


def sim_encrypt(encoding_aes_key: str, message: bytes, appid: str, *, random16: bytes | None = None) -> str:
    key = base64.b64decode(encoding_aes_key + "=")
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def sim_sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platform's scheme


class WechatSim(PlatformSim):
    name = "wechat"

    def __init__(self, server=None, *, clock: Callable[[], float] = time.time):
        super().__init__(server)
        self.clock = clock
        self.refund_instantly = True
        self.records: dict[str, Record] = {}
        self.push_keys: dict[str, PushKeys] = {}  # appid -> the push Token and EncodingAESKey
        self.accepted: list[tuple[str, int | None]] = []  # (after_sale_order_id, accept_type) carried out
        self.price_diffs: dict[str, dict] = {}  # request_id -> what was paid
        self.price_diff_payments = 0
        self._ids = itertools.count(3700000000000001)
        self._push_lock = threading.Lock()

    def now(self) -> int:
        return int(self.clock())

    # --- set-up -----------------------------------------------------------------------------------------------------

    def set_push_keys(self, appid: str, *, token: str, encoding_aes_key: str) -> None:
        with self.lock:
            self.push_keys[appid] = PushKeys(token, encoding_aes_key)

    def push_secret_of(self, appid: str) -> str:
        keys = self.push_keys[appid]
        return json.dumps({"token": keys.token, "encoding_aes_key": keys.encoding_aes_key})

    # --- the buyers' and the platform's moves -----------------------------------------------------------------------

    def _touch(self, record: Record, *, deadline_days: float | None = None) -> None:
        record.update_time = max(self.now(), record.update_time + 1)
        record.deadline_at = record.update_time + int(deadline_days * DAY) if deadline_days else 0

    def apply(
        self,
        *,
        order_id: str,
        shop_id: str,
        type: str = "REFUND",  # noqa: A002 - WeChat's field name
        amount: int = 12900,
        reason_text: str = "质量问题",
        desc: str = "",
        created_at: int | None = None,
        after_sale_order_id: str | None = None,
        push: bool = True,
    ) -> Record:
        """The buyer applies: MERCHANT_PROCESSING, the seller has 2 days."""
        with self.lock:
            now = created_at if created_at is not None else self.now()
            record = Record(
                after_sale_order_id=after_sale_order_id or str(next(self._ids)),
                shop_id=shop_id,
                order_id=order_id,
                type=type,
                amount=amount,
                create_time=now,
                update_time=now,
                reason_text=reason_text,
                desc=desc,
                sku_id=f"{order_id}-sku",
                deadline_at=now + 2 * DAY,
            )
            self.records[record.after_sale_order_id] = record
        if push:
            self.push_change(record)
        return record

    def buyer_ships_return(
        self, after_sale_order_id: str, *, delivery_id: str, waybill_id: str, delivery_name: str = "", push=True
    ) -> Record:
        with self.lock:
            record = self.records[after_sale_order_id]
            if record.status != "USER_WAIT_RETURN":
                raise ValueError(f"status {record.status}: no return to ship")
            record.status = "MERCHANT_WAIT_RECEIPT"
            record.delivery_id, record.waybill_id = delivery_id, waybill_id
            record.delivery_name = delivery_name or delivery_id
            self._touch(record, deadline_days=10)
        if push:
            self.push_change(record)
        return record

    def buyer_withdraws(self, after_sale_order_id: str, *, push: bool = True) -> Record:
        with self.lock:
            record = self.records[after_sale_order_id]
            record.status = "USER_CANCELD"
            self._touch(record)
        if push:
            self.push_change(record)
        return record

    def set_status(self, after_sale_order_id: str, status: str, *, push: bool = True) -> Record:
        """Any status, as the platform would move it (tests of every mapping)."""
        with self.lock:
            record = self.records[after_sale_order_id]
            record.status = status
            self._touch(record)
        if push:
            self.push_change(record)
        return record

    def platform_pays(self, after_sale_order_id: str, *, push: bool = True) -> Record:
        with self.lock:
            record = self.records[after_sale_order_id]
            if record.status != "PLATFORM_REFUNDING":
                raise ValueError(f"status {record.status}: nothing being refunded")
            record.status = "MERCHANT_REFUND_SUCCESS" if record.type == "REFUND" else "MERCHANT_RETURN_SUCCESS"
            record.complete_time = self.now()
            self._touch(record)
        if push:
            self.push_change(record)
        return record

    def _refund(self, record: Record) -> None:
        if self.refund_instantly:
            record.status = "MERCHANT_REFUND_SUCCESS" if record.type == "REFUND" else "MERCHANT_RETURN_SUCCESS"
            record.complete_time = self.now()
        else:
            record.status = "PLATFORM_REFUNDING"

    def _shop_id_for(self, data: dict) -> str:
        if data.get("shop_id"):
            return str(data["shop_id"])
        return self.state.shops[data["shop_token"]].shop_id

    def control(self, operation: str, data: dict) -> dict:
        if operation == "shop":
            # The base shop op, plus the push keys: given (push_token, encoding_aes_key) or made from the token. The
            # answer carries the connection's push_secret for connection_connect.
            super().control(operation, data)
            token = data.get("push_token") or f"push-{data['token']}"
            key = data.get("encoding_aes_key") or make_encoding_aes_key(data["token"])
            self.set_push_keys(data["app_key"], token=token, encoding_aes_key=key)
            return {"ok": True, "push_secret": self.push_secret_of(data["app_key"])}
        if operation == "apply":
            return {"record": asdict(self.apply(**data))}
        if operation == "demo_apply":
            # The generic demo: a buyer's 仅退款 on an unshipped order, the amount in 元.
            record = self.apply(
                shop_id=self._shop_id_for(data),
                order_id=str(data["order_id"]),
                type="REFUND",
                amount=int(Decimal(str(data["amount"])) * 100),
                reason_text=str(data.get("reason") or "不想要了"),
            )
            return {"platform_id": record.after_sale_order_id}
        if operation == "bulk_apply":
            # The bench's 双11 morning: many requests created over the last spread_seconds, pushed as they come.
            shop_id = self._shop_id_for(data)
            order_ids = [str(order_id) for order_id in data["order_ids"]]
            amount = int(Decimal(str(data.get("amount", "59.00"))) * 100)
            spread = max(int(data.get("spread_seconds", 1800)), 1)
            now = self.now()
            for index, order_id in enumerate(order_ids):
                created = now - spread + (spread * index) // max(len(order_ids), 1)
                self.apply(
                    shop_id=shop_id,
                    order_id=order_id,
                    amount=amount,
                    created_at=created,
                    push=bool(data.get("push", False)),
                )
            return {"count": len(order_ids)}
        if operation == "ship_return":
            return {"record": asdict(self.buyer_ships_return(**data))}
        if operation == "withdraw":
            return {"record": asdict(self.buyer_withdraws(data["after_sale_order_id"]))}
        if operation == "records":
            with self.lock:
                return {"records": [asdict(record) for record in self.records.values()]}
        return super().control(operation, data)

    # --- the gateway -----------------------------------------------------------------------------------------------

    def handle(self, subpath: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        status, answer = self.answer(subpath, query, body)
        return self.json_response(answer, status)

    def answer(self, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        api = path.removeprefix("/channels/ec/aftersale/")
        if api not in APIS or not path.startswith("/channels/ec/aftersale/"):
            return 404, {"errcode": 404, "errmsg": f"no api {path}"}
        fault = self.take_fault(api, kinds=(Fault.RATE_LIMIT, Fault.TIMEOUT, Fault.SERVER_ERROR, Fault.SESSION_EXPIRED))
        if fault == Fault.TIMEOUT:
            time.sleep(self.timeout_sleep)
            return 200, _error(-1, "system error")
        if fault == Fault.SERVER_ERROR:
            return 500, {"errmsg": "internal error"}
        if fault == Fault.RATE_LIMIT:
            return 200, _error(45011, "api minute-quota reach limit  mustslower  retry next minute")
        shop = self.state.shops.get(query.get("access_token", ""))
        if fault == Fault.SESSION_EXPIRED or (shop is not None and shop.expired):
            return 200, _error(42001, "access_token expired")
        if shop is None:
            return 200, _error(40001, "invalid credential, access_token is invalid or not latest")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return 200, _error(47001, "data format error")
        if not isinstance(params, dict):
            return 200, _error(47001, "data format error")
        changed: list[Record] = []
        with self.lock:
            self.record_call(api, params)
            answer = getattr(self, "m_" + api)(shop.shop_id, params, changed)
        for record in changed:
            self.push_change(record)
        if self.take_fault(api, kinds=(Fault.ACTED_THEN_TIMEOUT,)):
            time.sleep(self.timeout_sleep)
        return 200, answer

    def _visible(self, shop_id: str, after_sale_order_id) -> Record | None:
        record = self.records.get(str(after_sale_order_id))
        return record if record is not None and record.shop_id == shop_id else None

    def m_getaftersalelist(self, shop_id: str, params: dict, changed: list) -> dict:
        begin, end = params.get("begin_create_time"), params.get("end_create_time")
        if not isinstance(begin, int) or not isinstance(end, int) or not 0 <= end - begin <= DAY:
            return _error(INVALID_ARGS, "begin_create_time/end_create_time invalid (at most 24 h apart)")
        offset = int(params.get("next_key") or 0)
        matching = sorted(
            (
                record
                for record in self.records.values()
                if record.shop_id == shop_id and begin <= record.create_time <= end
            ),
            key=lambda record: (record.create_time, record.after_sale_order_id),
        )
        chunk = matching[offset : offset + PAGE]
        has_more = offset + PAGE < len(matching)
        return _ok(
            after_sale_order_id_list=[record.after_sale_order_id for record in chunk],
            has_more=has_more,
            next_key=str(offset + PAGE) if has_more else "",
        )

    def m_getaftersaleorder(self, shop_id: str, params: dict, changed: list) -> dict:
        record = self._visible(shop_id, params.get("after_sale_order_id"))
        if record is None:
            return _error(BUSINESS, "售后单不存在")
        return _ok(after_sale_order=self.order_of(record))

    def order_of(self, record: Record) -> dict:
        return {
            "after_sale_order_id": record.after_sale_order_id,
            "order_id": record.order_id,
            "type": record.type,
            "status": record.status,
            "reason": record.reason,
            "reason_text": record.reason_text,
            "details": {"desc": record.desc},
            "product_info": {"product_id": "1", "sku_id": record.sku_id, "count": 1},
            "refund_info": {"amount": record.amount},
            "return_info": {
                "delivery_id": record.delivery_id,
                "delivery_name": record.delivery_name,
                "waybill_id": record.waybill_id,
            },
            "deadline": max(record.deadline_at - self.now(), 0) if record.deadline_at else 0,
            "create_time": record.create_time,
            "update_time": record.update_time,
            "complete_time": record.complete_time,
        }

    def m_acceptapply(self, shop_id: str, params: dict, changed: list) -> dict:
        record = self._visible(shop_id, params.get("after_sale_order_id"))
        if record is None:
            return _error(BUSINESS, "售后单不存在")
        accept_type = params.get("accept_type")
        if record.type == "REFUND" and record.status == "MERCHANT_PROCESSING" and accept_type is None:
            self._refund(record)
            self._touch(record)
        elif record.type == "RETURN" and record.status == "MERCHANT_PROCESSING" and accept_type in (None, 1):
            record.status, record.address_id = "USER_WAIT_RETURN", str(params.get("address_id") or "")
            self._touch(record, deadline_days=7)
        elif record.type == "RETURN" and record.status == "MERCHANT_WAIT_RECEIPT" and accept_type in (None, 2):
            self._refund(record)
            self._touch(record)
        else:
            return _error(BUSINESS, f"当前售后状态({record.status})不允许该操作")
        self.accepted.append((record.after_sale_order_id, accept_type))
        changed.append(record)
        return _ok()

    def m_rejectapply(self, shop_id: str, params: dict, changed: list) -> dict:
        record = self._visible(shop_id, params.get("after_sale_order_id"))
        if record is None:
            return _error(BUSINESS, "售后单不存在")
        if record.status not in ("MERCHANT_PROCESSING", "MERCHANT_WAIT_RECEIPT"):
            return _error(BUSINESS, f"当前售后状态({record.status})不允许拒绝")
        record.status = "MERCHANT_REJECT_REFUND" if record.type == "REFUND" else "MERCHANT_REJECT_RETURN"
        record.reject_reason = str(params.get("reject_reason") or "")
        self._touch(record, deadline_days=2)
        changed.append(record)
        return _ok()

    def m_refundpricediff(self, shop_id: str, params: dict, changed: list) -> dict:
        request_id = params.get("request_id")
        amount = params.get("amount")
        if not isinstance(request_id, str) or not request_id or not isinstance(amount, int) or amount <= 0:
            return _error(INVALID_ARGS, "request_id and amount (分) are required")
        if request_id not in self.price_diffs:
            self.price_diffs[request_id] = {**params, "shop_id": shop_id}
            self.price_diff_payments += 1
        return _ok()

    # --- pushes ----------------------------------------------------------------------------------------------------

    def event_of(self, record: Record) -> dict:
        return {
            "ToUserName": f"gh_{record.shop_id}",
            "FromUserName": "system",
            "CreateTime": self.now(),
            "MsgType": "event",
            "Event": "channels_ec_aftersale_update",
            "finder_shop_aftersale_status_update": {
                "after_sale_order_id": record.after_sale_order_id,
                "order_id": record.order_id,
                "status": record.status,
            },
        }

    def push_change(self, record: Record) -> None:
        appid = next((shop.app_key for shop in self.state.shops.values() if shop.shop_id == record.shop_id), "")
        self.queue_push({**self.event_of(record), "_appid": appid})

    def signed_push(self, message: dict, appid: str, *, random16: bytes | None = None) -> tuple[dict, bytes]:
        """(query, body) of one push in safe mode: the JSON envelope {ToUserName, Encrypt}, msg_signature over the
        Token, timestamp, nonce and Encrypt; signature (plain) beside it, as WeChat sends both."""
        keys = self.push_keys[appid]
        event = json.dumps({k: v for k, v in message.items() if not k.startswith("_")}, ensure_ascii=False).encode()
        encrypted = sim_encrypt(keys.encoding_aes_key, event, appid, random16=random16)
        timestamp, nonce = str(int(time.time())), base64.b16encode(os.urandom(5)).decode().lower()
        query = {
            "signature": sim_sha1(keys.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": sim_sha1(keys.token, timestamp, nonce, encrypted),
        }
        body = json.dumps({"ToUserName": message.get("ToUserName", ""), "Encrypt": encrypted}).encode()
        return query, body

    def build_push(self, messages: list[dict]) -> tuple[dict, bytes]:
        """One event per push (WeChat does not batch): the first message, its query in the header the desk's door
        fills from the URL (base.PUSH_QUERY_HEADER), for tests that call verify_push directly."""
        query, body = self.signed_push(messages[0], messages[0].get("_appid", ""))
        return {"Content-Type": "application/json", PUSH_QUERY_HEADER: urlencode(query)}, body

    def _deliver(self, batch: list[dict], slots: threading.Semaphore) -> None:
        # One POST per event, the signature in the URL's query.
        try:
            target = self.push_target
            if not target:
                return
            for message in batch:
                query, body = self.signed_push(message, message.get("_appid", ""))
                url = f"{target}{'&' if '?' in target else '?'}{urlencode(query)}"
                for attempt in range(3):
                    try:
                        answer = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
                        if answer.status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.2 * (attempt + 1))
        finally:
            with self.lock:
                self.pushes_sent += len(batch)
            slots.release()


def _ok(**data) -> dict:
    return {"errcode": 0, "errmsg": "ok", **data}


def _error(code: int, message: str) -> dict:
    return {"errcode": code, "errmsg": message}
