"""Every 抖店 after-sales type, status, refund status and arbitration status has a home, listed here by hand from
MARKETPLACES.md §2 (and the Go SDK's enums); a code the adapter does not map fails the completeness tests."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketplaces.adapters import douyin
from marketplaces.adapters.base import RecordKind, RecordStatus, Ruling

DOCUMENTED_TYPES = {0, 1, 2, 3, 4, 5, 6, 7, 8}
DOCUMENTED_STATUSES = {6, 7, 8, 11, 12, 13, 14, 27, 28, 29, 51, 53}
DOCUMENTED_REFUND_STATUSES = {1, 2, 3, 4, 5}
DOCUMENTED_ARBITRATION = {0, 1, 2, 3, 4, 5, 6, 255}
DOCUMENTED_TAGS = {str(tag) for tag in [*range(200, 210), 211, *range(212, 219), 224, 225, 226, 227]}


@pytest.mark.parametrize(
    ("aftersale_type", "sub_type", "kind"),
    [
        (0, 0, RecordKind.RETURN_REFUND),  # 退货退款
        (1, 0, RecordKind.REFUND_ONLY),  # 已发货仅退款
        (2, 0, RecordKind.REFUND_ONLY),  # 未发货仅退款
        (3, 0, RecordKind.EXCHANGE),  # 换货
        (4, 0, RecordKind.UNKNOWN),  # 系统取消 (detail): how it ended, not what was asked
        (5, 0, RecordKind.UNKNOWN),  # 用户取消 (detail)
        (6, 0, RecordKind.PRICE_PROTECTION),  # 价保
        (7, 0, RecordKind.RESHIP),  # 补寄
        (8, 0, RecordKind.REPAIR),  # 维修
        (8, 8001, RecordKind.EXCHANGE),  # 以换代修: settled by an exchange
        (99, 0, RecordKind.UNKNOWN),  # a type the platform adds later: kept, shown, never dropped
    ],
)
def test_every_type_has_a_kind(aftersale_type, sub_type, kind):
    assert douyin.record_kind(aftersale_type, sub_type) == kind


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (6, {}, RecordStatus.WAITING_SELLER),
        (7, {}, RecordStatus.WAITING_BUYER_RETURN),
        (8, {}, RecordStatus.SELLER_SHIPPING),
        (11, {}, RecordStatus.WAITING_SELLER_CONFIRM),
        (11, {"has_return_waybill": True}, RecordStatus.RETURN_SHIPPED),
        (12, {}, RecordStatus.SUCCEEDED),
        (12, {"refund_status": 3}, RecordStatus.SUCCEEDED),
        (12, {"refund_status": 5}, RecordStatus.SUCCEEDED),
        (12, {"refund_status": 1}, RecordStatus.REFUNDING),  # 售后成功 but 待退款: not paid yet
        (12, {"refund_status": 2}, RecordStatus.REFUNDING),
        (12, {"refund_status": 4}, RecordStatus.REFUNDING),  # 退款失败: never "succeeded"
        (13, {}, RecordStatus.WAITING_BUYER_RECEIPT),
        (14, {}, RecordStatus.SUCCEEDED),
        (27, {}, RecordStatus.SELLER_REFUSED),
        (28, {}, RecordStatus.CLOSED),
        (28, {"aftersale_type": 5}, RecordStatus.CLOSED_BY_BUYER),
        (28, {"aftersale_type": 4}, RecordStatus.CLOSED),
        (29, {}, RecordStatus.SELLER_REFUSED),
        (51, {}, RecordStatus.SUCCEEDED),
        (51, {"refund_status": 2}, RecordStatus.REFUNDING),
        (53, {"refund_status": 3}, RecordStatus.SUCCEEDED),
        (6, {"arbitrate_status": 1}, RecordStatus.PLATFORM_REVIEW),
        (27, {"arbitrate_status": 4}, RecordStatus.PLATFORM_REVIEW),
        (29, {"arbitrate_status": 5}, RecordStatus.PLATFORM_REVIEW),
        (27, {"arbitrate_status": 6}, RecordStatus.SELLER_REFUSED),  # ended: the status says where it stands
        (12, {"arbitrate_status": 1}, RecordStatus.SUCCEEDED),  # final statuses are not overridden
        (28, {"arbitrate_status": 4}, RecordStatus.CLOSED),
        (99, {}, RecordStatus.UNKNOWN),
    ],
)
def test_every_status_maps(status, extra, expected):
    assert douyin.record_status(status, **extra) == expected


@pytest.mark.parametrize(
    ("arbitrate_status", "ruling"),
    [
        (0, Ruling.NONE),
        (1, Ruling.NONE),
        (2, Ruling.FOR_BUYER),  # 仲裁结束-支持买家
        (3, Ruling.FOR_MERCHANT),  # 仲裁结束-支持卖家
        (4, Ruling.NONE),
        (5, Ruling.NONE),
        (6, Ruling.NONE),
        (255, Ruling.NONE),
    ],
)
def test_every_arbitration_status_has_a_ruling(arbitrate_status, ruling):
    assert douyin.record_ruling(arbitrate_status) == ruling


def test_no_documented_code_is_unmapped():
    assert set(douyin.KINDS) == DOCUMENTED_TYPES
    assert DOCUMENTED_STATUSES <= set(douyin.STATUSES)
    assert all(douyin.STATUSES[code] != RecordStatus.UNKNOWN for code in DOCUMENTED_STATUSES)
    assert DOCUMENTED_REFUND_STATUSES <= set(douyin.REFUND_STATUSES)
    assert set(douyin.RULINGS) == DOCUMENTED_ARBITRATION
    assert set(douyin.PUSH_TAGS) == DOCUMENTED_TAGS
    # The kinds the desk has no type for are the cancellations only.
    assert {code for code, kind in douyin.KINDS.items() if kind == RecordKind.UNKNOWN} == {4, 5}


def test_every_record_status_is_reachable_from_some_douyin_code():
    reached = set(douyin.STATUSES.values()) | {
        douyin.record_status(11, has_return_waybill=True),
        douyin.record_status(6, arbitrate_status=1),
        douyin.record_status(12, refund_status=2),
        douyin.record_status(28, aftersale_type=5),
    }
    assert reached == set(RecordStatus) - {RecordStatus.UNKNOWN}


def test_a_list_item_becomes_a_record_in_yuan_with_deadline_version_and_waybill():
    item = {
        "aftersale_info": {
            "aftersale_id": "7300000000001",
            "aftersale_type": 0,
            "aftersale_status": 11,
            "related_id": "69200000000000011",
            "apply_time": 1762833600,
            "update_time": 1762837200,
            "status_deadline": 1763701200,
            "refund_amount": 12950,
            "refund_status": 0,
            "arbitrate_status": 0,
            "return_logistics_code": "YT9001",
            "return_logistics_company_name": "圆通",
        },
        "order_info": {"shop_order_id": "6920000000000001"},
        "text_part": {"reason_text": "质量问题"},
    }

    record = douyin.record_from_list_item(item)

    assert (record.platform_id, record.order_id, record.sub_order_id) == (
        "7300000000001",
        "6920000000000001",
        "69200000000000011",
    )
    assert (record.kind, record.status, record.platform_status) == (
        RecordKind.RETURN_REFUND,
        RecordStatus.RETURN_SHIPPED,
        "11",
    )
    assert (record.amount, record.refunded_amount) == (Decimal("129.50"), None)
    assert (record.version, record.modified_at) == ("1762837200", datetime(2025, 11, 11, 5, 0, tzinfo=UTC))
    assert record.applied_at == datetime(2025, 11, 11, 4, 0, tzinfo=UTC)
    assert record.deadline == datetime(2025, 11, 21, 5, 0, tzinfo=UTC)
    assert (record.return_courier, record.return_tracking_number, record.reason) == ("圆通", "YT9001", "质量问题")


def test_a_detail_that_succeeded_carries_what_the_platform_paid_and_its_ruling():
    data = {
        "process_info": {
            "after_sale_info": {
                "after_sale_id": 7300000000002,
                "after_sale_type": 1,
                "after_sale_status": 12,
                "refund_status": 3,
                "refund_total_amount": 12900,
                "real_refund_amount": 12000,
                "apply_time": 1762833600,
                "update_time": 1762840800,
                "status_deadline": 0,
                "reason": "少件/漏发",
                "reason_remark": "少了一只",
            },
            "arbitrate_info": {"arbitrate_status": 2},
            "logistics_info": {"return": {"tracking_no": "", "company_code": ""}},
        },
        "order_info": {"shop_order_id": 6920000000000001, "sku_order_infos": [{"sku_order_id": 69200000000000011}]},
    }

    record = douyin.record_from_detail(data)

    assert (record.platform_id, record.order_id, record.status, record.ruling) == (
        "7300000000002",
        "6920000000000001",
        RecordStatus.SUCCEEDED,
        Ruling.FOR_BUYER,
    )
    assert (record.amount, record.refunded_amount, record.deadline) == (Decimal("129.00"), Decimal("120.00"), None)
    assert record.buyer_message == "少了一只"
