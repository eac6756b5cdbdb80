"""抖店 signing, against fixed vectors worked out outside this code.

Every expected hex below was computed with the shell, not with marketplaces.adapters.douyin:

    K=7100000000000000001; S=s3cret; T=1762833660
    P1='{"order_by":["update_time asc"],"page":0,"size":100,'\
'"update_end_time":1762833600,"update_start_time":1762831800}'
    STR="${S}app_key${K}methodafterSale.Listparam_json${P1}timestamp${T}v2${S}"
    printf '%s' "$STR" | openssl dgst -sha256 -hmac "$S"     # HMAC-SHA256, key = secret
    printf '%s' "$STR" | md5sum                              # the md5 variant
    P2='{"items":[{"aftersale_id":"7300000000001","reason":"<质量>&问题","update_time":1762833600}],"type":202}'
    (same with methodafterSale.operate and P2)
    B='[{"tag":"200","msg_id":"m1","data":"{\\"aftersale_id\\":7300000000001}"}]'
    printf '%s' "${K}${B}${S}" | md5sum                       # the push's event-sign
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketplaces.adapters import base, douyin
from marketplaces.adapters.base import Credentials, PushInvalid, SignatureInvalid

KEY, SECRET, TIMESTAMP = "7100000000000000001", "s3cret", 1762833660
LIST_JSON = (
    '{"order_by":["update_time asc"],"page":0,"size":100,"update_end_time":1762833600,"update_start_time":1762831800}'
)
OPERATE_JSON = '{"items":[{"aftersale_id":"7300000000001","reason":"<质量>&问题","update_time":1762833600}],"type":202}'
PUSH_BODY = b'[{"tag":"200","msg_id":"m1","data":"{\\"aftersale_id\\":7300000000001}"}]'


def test_param_json_sorts_keys_at_every_level_compact_without_html_or_ascii_escapes():
    # Given out of order, nested, with <, & and Chinese: the SDK's re-marshal sorts, keeps them raw, no spaces.
    params = {
        "type": 202,
        "items": [{"update_time": 1762833600, "reason": "<质量>&问题", "aftersale_id": "7300000000001"}],
    }
    assert douyin.param_json(params) == OPERATE_JSON
    listing = {
        "update_start_time": 1762831800,
        "size": 100,
        "page": 0,
        "order_by": ["update_time asc"],
        "update_end_time": 1762833600,
    }
    assert douyin.param_json(listing) == LIST_JSON


@pytest.mark.parametrize(
    ("method", "text", "sign_method", "expected"),
    [
        (
            "afterSale.List",
            LIST_JSON,
            "hmac-sha256",
            "a14784cd0cd530eb744fc7b3be30c11d24c37d8d8d8393dc60645f429ad2ea33",
        ),
        ("afterSale.List", LIST_JSON, "md5", "c489325942f02a519118c63cb42fefaf"),
        (
            "afterSale.operate",
            OPERATE_JSON,
            "hmac-sha256",
            "b4901fa8a391b2d11f6b5c9bd5f73536ddcbc209d562603a5e50659557f14e9e",
        ),
        ("afterSale.operate", OPERATE_JSON, "md5", "da65e09d7b107464eb7190dcd6df7be9"),
    ],
)
def test_request_signature_matches_the_vector(method, text, sign_method, expected):
    assert (
        douyin.sign(
            app_key=KEY,
            app_secret=SECRET,
            method=method,
            param_json_text=text,
            timestamp=TIMESTAMP,
            sign_method=sign_method,
        )
        == expected
    )


def test_the_method_is_the_path_with_dots():
    assert douyin.method_of("/afterSale/List") == "afterSale.List"
    assert douyin.method_of("/afterSale/applyLogisticsIntercept") == "afterSale.applyLogisticsIntercept"


def test_push_signature_matches_the_vector_and_a_changed_byte_or_secret_does_not_verify():
    assert douyin.push_signature(app_key=KEY, app_secret=SECRET, body=PUSH_BODY) == "986bb7f49eacfbe25df3e9449d36256e"
    good = "986bb7f49eacfbe25df3e9449d36256e"
    assert douyin.push_signature_valid(body=PUSH_BODY, app_key=KEY, app_secret=SECRET, method="md5", signature=good)
    assert douyin.push_signature_valid(
        body=PUSH_BODY, app_key=KEY, app_secret=SECRET, method="md5", signature=good.upper()
    )
    tampered = PUSH_BODY.replace(b"7300000000001", b"7300000000002")
    assert not douyin.push_signature_valid(body=tampered, app_key=KEY, app_secret=SECRET, method="md5", signature=good)
    assert not douyin.push_signature_valid(body=PUSH_BODY, app_key=KEY, app_secret="other", method="", signature=good)
    assert not douyin.push_signature_valid(body=PUSH_BODY, app_key=KEY, app_secret="", method="md5", signature=good)


def test_verify_push_refuses_a_bad_sign_and_reads_a_good_one():
    adapter = douyin.DouyinAdapter()
    credentials = Credentials(app_key=KEY, app_secret=SECRET, access_token="t", shop_id="88001")
    with pytest.raises(SignatureInvalid):
        adapter.verify_push(credentials, headers={"event-sign": "0" * 32}, body=PUSH_BODY)

    messages = adapter.verify_push(
        credentials, headers={"Event-Sign": "986bb7f49eacfbe25df3e9449d36256e"}, body=PUSH_BODY
    )

    assert [(m.message_id, m.topic, m.platform_id, m.record) for m in messages] == [
        ("m1", "RefundCreated", "7300000000001", None)  # no status nor update_time: the caller reads the record
    ]


def test_amounts_convert_between_fen_and_yuan_in_one_place():
    # One conversion for every platform that counts in 分 (抖店, WeChat shop); the adapter reads records through it.
    assert douyin.fen_to_yuan is base.fen_to_yuan
    assert base.fen_to_yuan(12900) == Decimal("129.00")
    assert base.fen_to_yuan(1) == Decimal("0.01")
    assert base.yuan_to_fen(Decimal("129.01")) == 12901
    with pytest.raises(ValueError, match="fen"):
        base.yuan_to_fen(Decimal("0.005"))


def test_deadlines_are_unix_seconds_read_as_aware_utc():
    assert douyin.epoch_to_utc(1762833600) == datetime(2025, 11, 11, 4, 0, tzinfo=UTC)
    assert douyin.epoch_to_utc(0) is None


def signed(body: bytes) -> dict[str, str]:
    return {"event-sign": douyin.push_signature(app_key=KEY, app_secret=SECRET, body=body)}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{}",
        b"[]",
        b'["x"]',
        b'[{"tag": true, "data": "{}"}]',
        b'[{"tag": "200", "data": "{not json"}]',
        b'[{"tag": "200", "data": "[1]"}]',
        b'[{"tag": "200", "msg_id": "\xed\xa0\x80", "data": {}}]',
        b"[" * 5000 + b"]" * 5000,
        b"[" + b",".join([b'{"tag":"200","msg_id":"m","data":"{}"}'] * 201) + b"]",
    ],
)
def test_a_signed_push_that_is_not_the_documented_shape_is_refused_whole(body):
    adapter = douyin.DouyinAdapter()
    credentials = Credentials(app_key=KEY, app_secret=SECRET, access_token="t", shop_id="88001")

    with pytest.raises(PushInvalid) as refused:
        adapter.verify_push(credentials, headers=signed(body), body=body)

    assert isinstance(refused.value, SignatureInvalid)  # the door answers it as it answers a bad signature: 4xx


def test_a_verified_push_names_every_message_by_tag_and_skips_one_without_an_id():
    body = (
        b'[{"tag":"206","msg_id":"a","data":"{\\"aftersale_id\\":\\"731\\",\\"shop_id\\":88001}"},'
        b'{"tag":"299","msg_id":"b","data":"{\\"aftersale_id\\":732}"},'
        b'{"tag":"209","msg_id":"c","data":{"shop_id":88001}}]'
    )
    adapter = douyin.DouyinAdapter()
    credentials = Credentials(app_key=KEY, app_secret=SECRET, access_token="t", shop_id="88001")

    messages = adapter.verify_push(credentials, headers=signed(body), body=body)

    assert [(m.message_id, m.topic, m.shop_id, m.platform_id) for m in messages] == [
        ("a", "RefundSuccess", "88001", "731"),
        ("b", "tag:299", "", "732"),  # an unknown tag is kept and read like any other
    ]
