"""TOP signing with vectors worked outside Python (md5sum / openssl over the hand-written concatenation), every status
and type mapping, the 元/分 conversions and the per-call limits."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketplaces.adapters.base import (
    BusinessRefusal,
    OutcomeUnknown,
    RateLimited,
    RecordKind,
    RecordStatus,
    RefundAgreement,
    Ruling,
    SessionInvalid,
    VerificationCodeRequired,
    split_agreements,
)
from marketplaces.adapters.taobao import (
    TAOBAO_AGREE_LIMITS,
    TMALL_AGREE_LIMITS,
    _raise_for,
    fen_for_platform,
    parse_record,
    sign_string,
    tmc_sign,
    top_sign,
    yuan_from_platform,
)

PARAMS = {
    "method": "taobao.refund.get",
    "app_key": "12345678",
    "session": "test-session",
    "timestamp": "2026-11-11 10:00:00",
    "format": "json",
    "v": "2.0",
    "sign_method": "md5",
    "refund_id": "123456789",
    "fields": "refund_id,status",
}
# Sorted by key, key+value, nothing between: session included (TOP answers code 25 without it).
CONCATENATED = (
    "app_key12345678fieldsrefund_id,statusformatjsonmethodtaobao.refund.getrefund_id123456789"
    "sessiontest-sessionsign_methodmd5timestamp2026-11-11 10:00:00v2.0"
)


def test_the_signed_string_is_every_parameter_sorted_as_key_and_value():
    assert sign_string({**PARAMS, "sign": "ignored", "empty": ""}) == CONCATENATED


def test_md5_signature_vector():
    # printf '%s' "helloworld${CONCATENATED}helloworld" | md5sum
    assert top_sign(PARAMS, "helloworld", "md5") == "4D4FE16F0DF1EFBD2046631C08204072"


def test_hmac_signature_vector():
    # printf '%s' "${CONCATENATED with sign_methodhmac}" | openssl dgst -md5 -hmac helloworld
    params = {**PARAMS, "sign_method": "hmac"}
    assert top_sign(params, "helloworld", "hmac") == "6B1880B9A90123B5E50FF4D6460E9715"


def test_the_session_is_signed():
    assert top_sign(PARAMS, "helloworld") != top_sign({**PARAMS, "session": "other"}, "helloworld")


def test_tmc_signature_vector():
    # printf '%s' "helloworldapp_key12345678group_namedefaulttimestamp1763000000000helloworld" | md5sum
    assert (
        tmc_sign(app_key="12345678", group_name="default", timestamp_ms="1763000000000", secret="helloworld")
        == "D9E33FE0826989A9123353455211DC0F"
    )


def test_amounts_convert_between_yuan_and_fen_in_one_place():
    assert yuan_from_platform("12.5") == Decimal("12.50")
    assert yuan_from_platform("0.01") == Decimal("0.01")
    assert fen_for_platform(Decimal("5999.99")) == 599999
    assert fen_for_platform(Decimal("0.10")) == 10
    with pytest.raises(ValueError, match="two decimal places"):
        fen_for_platform(Decimal("1.005"))


def raw(**fields):
    return {
        "refund_id": "9001",
        "tid": "4000",
        "oid": "4001",
        "status": "WAIT_SELLER_AGREE",
        "dispute_type": "REFUND",
        "refund_fee": "88.00",
        "created": "2026-11-11 00:00:05",
        "modified": "2026-11-11 00:10:00",
        "refund_version": "1762790400000",
        "cs_status": "1",
        **fields,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("WAIT_SELLER_AGREE", RecordStatus.WAITING_SELLER),
        ("WAIT_BUYER_RETURN_GOODS", RecordStatus.WAITING_BUYER_RETURN),
        ("WAIT_SELLER_CONFIRM_GOODS", RecordStatus.RETURN_SHIPPED),
        ("SELLER_REFUSE_BUYER", RecordStatus.SELLER_REFUSED),
        ("CLOSED", RecordStatus.CLOSED),
        ("SUCCESS", RecordStatus.SUCCEEDED),
        ("WAIT_SELLER_CONSIGN_GOODS", RecordStatus.SELLER_SHIPPING),
        ("EXCHANGE_TRANSFORM_TO_REFUND", RecordStatus.WAITING_SELLER),
        ("WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS", RecordStatus.SELLER_SHIPPING),
        ("WAIT_SELLER_CONFIRM_RETURN_ADDRESS", RecordStatus.WAITING_SELLER),
        ("POST_FEE_DISPUTE_WAIT_ACTIVATE", RecordStatus.WAITING_SELLER),
        ("SOMETHING_NEW", RecordStatus.UNKNOWN),
    ],
)
def test_every_status_maps(status, expected):
    record = parse_record(raw(status=status))
    assert record.status == expected
    assert record.platform_status == status


@pytest.mark.parametrize(
    ("dispute_type", "expected"),
    [
        ("REFUND", RecordKind.REFUND_ONLY),
        ("REFUND_AND_RETURN", RecordKind.RETURN_REFUND),
        ("TMALL_EXCHANGE", RecordKind.EXCHANGE),
        ("TAOBAO_EXCHANGE", RecordKind.EXCHANGE),
        ("REPAIR", RecordKind.REPAIR),
        ("RESHIPPING", RecordKind.RESHIP),
        ("OTHERS", RecordKind.UNKNOWN),
        ("BRAND_NEW_TYPE", RecordKind.UNKNOWN),
    ],
)
def test_every_dispute_type_maps(dispute_type, expected):
    record = parse_record(raw(dispute_type=dispute_type))
    assert record.kind == expected
    assert record.platform_kind == dispute_type


def test_a_record_without_dispute_type_is_told_by_has_good_return():
    assert parse_record(raw(dispute_type="", has_good_return="true")).kind == RecordKind.RETURN_REFUND
    assert parse_record(raw(dispute_type="", has_good_return="false")).kind == RecordKind.REFUND_ONLY


@pytest.mark.parametrize(
    ("status", "cs_status", "expected", "ruling"),
    [
        ("WAIT_SELLER_AGREE", "3", RecordStatus.PLATFORM_REVIEW, Ruling.NONE),
        ("SELLER_REFUSE_BUYER", "2", RecordStatus.PLATFORM_REVIEW, Ruling.NONE),
        ("SUCCESS", "6", RecordStatus.SUCCEEDED, Ruling.FOR_BUYER),
        ("CLOSED", "6", RecordStatus.CLOSED, Ruling.FOR_MERCHANT),
        ("SUCCESS", "1", RecordStatus.SUCCEEDED, Ruling.NONE),
    ],
)
def test_the_platform_stepping_in_and_its_ruling(status, cs_status, expected, ruling):
    record = parse_record(raw(status=status, cs_status=cs_status))
    assert (record.status, record.ruling) == (expected, ruling)


def test_a_record_in_the_desks_units():
    record = parse_record(
        raw(
            status="WAIT_SELLER_CONFIRM_GOODS",
            company_name="中通快递",
            sid="ZT123",
            refund_remind_timeout={"exist_timeout": "true", "remind_type": 1, "timeout": "2026-11-13 00:10:00"},
        )
    )
    assert record.amount == Decimal("88.00")
    # 00:10 in China is 16:10 UTC the day before.
    assert record.modified_at == datetime(2026, 11, 10, 16, 10, tzinfo=UTC)
    assert record.applied_at == datetime(2026, 11, 10, 16, 0, 5, tzinfo=UTC)
    assert record.deadline == datetime(2026, 11, 12, 16, 10, tzinfo=UTC)
    assert (record.return_courier, record.return_tracking_number) == ("中通快递", "ZT123")
    assert (record.order_id, record.sub_order_id, record.version) == ("4000", "4001", "1762790400000")
    assert parse_record(raw(refund_remind_timeout={"exist_timeout": "false"})).deadline is None


def agreements(*amounts):
    return [RefundAgreement(str(n), Decimal(amount), "1") for n, amount in enumerate(amounts)]


def test_taobao_limits_split_a_batch_at_twenty_refunds():
    batches = split_agreements(agreements(*["10.00"] * 45), TAOBAO_AGREE_LIMITS)
    assert [len(batch) for batch in batches] == [20, 20, 5]


def test_taobao_limits_split_a_batch_at_six_thousand_yuan():
    # 2500 + 2500 = 5000; + 2500 would be 7500 > 6000: a new call. 1000 fits with the next.
    batches = split_agreements(agreements("2500", "2500", "2500", "1000", "3000"), TAOBAO_AGREE_LIMITS)
    assert [[a.amount for a in batch] for batch in batches] == [
        [Decimal(2500), Decimal(2500)],
        [Decimal(2500), Decimal(1000)],
        [Decimal(3000)],
    ]


def test_tmall_limits_are_thirty_refunds_and_ten_thousand_yuan():
    assert [len(b) for b in split_agreements(agreements(*["1.00"] * 61), TMALL_AGREE_LIMITS)] == [30, 30, 1]
    assert [len(b) for b in split_agreements(agreements(*["4000"] * 5), TMALL_AGREE_LIMITS)] == [2, 2, 1]


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ({"code": 7, "msg": "App Call Limited", "sub_code": "accesscontrol.limited-by-app-access-count"}, RateLimited),
        ({"code": 27, "msg": "Invalid session", "sub_code": "session-expired"}, SessionInvalid),
        (
            {"code": 15, "msg": "x", "sub_code": "isv.refund-agree-need-code", "sub_msg": "需要短信验证码"},
            VerificationCodeRequired,
        ),
        ({"code": 15, "msg": "Remote service error", "sub_code": "isp.timeout"}, OutcomeUnknown),
        ({"code": 15, "msg": "x", "sub_code": "isv.refund-status-invalid", "sub_msg": "状态不对"}, BusinessRefusal),
    ],
)
def test_platform_errors_are_typed(error, raised):
    with pytest.raises(raised):
        _raise_for(error)
