"""Golden tests for where the repair (维修) and price-protection (价保) kinds count, by seed 004: a price difference is
never a quality refund; the quality return rate counts returns, refunds and exchanges, not repairs or price
protections; compensation is not a price difference; every finished after-sales counts in the completion time.

The window is November 2026 (China time), as in test_definitions, whose helpers write the rows directly."""

from decimal import Decimal

import pytest

from tests.factories import ShopFactory
from tests.metrics.test_definitions import at, figure, order, paid_orders, paid_refund, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory()


def test_a_price_difference_is_not_a_quality_refund(shop):
    """10 orders paid in November. Order 0: a return refunded with last reason 质量问题 (counts). Order 1: a price
    protection whose reason was recorded as 质量问题, its ¥20 difference refunded (does not count: 退差价).
    品质退款率 = 1/10 = 0.1000 (it would be 2/10 if the price difference counted)."""
    orders = paid_orders(shop, 10)
    refunded = ticket(shop, opened=at(12), kind="return_refund", first="quality_defect", of=orders[0])
    difference = ticket(shop, opened=at(12), kind="price_protection", first="quality_defect", of=orders[1])
    paid_refund(refunded, executed=at(14))
    paid_refund(difference, executed=at(14), amount="20.00", kind="price_difference")

    quality = figure("quality_refund_rate", shop)

    assert (quality.value, quality.numerator, quality.denominator) == (Decimal("0.1000"), 1, 10)


def test_the_quality_return_rate_leaves_out_repairs_and_price_protections(shop):
    """5 orders delivered in November, each with one after-sales whose first reason is a quality reason: a return
    (counts), an exchange (counts), a refund only (counts), a repair 需要维修 (not counted) and a price protection
    (not counted). 商品品质退货率 = 3/5 = 0.6000 (it was 5/5 before the two kinds were told apart)."""
    delivered = [order(shop, paid=at(1), shipped=at(2), delivered=at(4)) for _ in range(5)]
    kinds = ["return_refund", "exchange", "refund_only", "repair", "price_protection"]
    for kind, of in zip(kinds, delivered, strict=True):
        first = "needs_repair" if kind == "repair" else "quality_defect"
        ticket(shop, opened=at(6), kind=kind, first=first, of=of)

    rate = figure("quality_return_rate", shop)

    assert (rate.value, rate.numerator, rate.denominator) == (Decimal("0.6000"), 3, 5)


def test_a_price_difference_is_not_compensation(shop):
    """Two tickets handled (closed) in November: a compensation of ¥10 (counts) and a price protection whose ¥30
    difference was refunded (not compensation). 赔偿单价 = ¥10 / 2 handled = ¥5.00."""
    compensation = ticket(shop, opened=at(3), kind="compensation", state="refunded", closed=at(5))
    difference = ticket(shop, opened=at(3), kind="price_protection", state="refunded", closed=at(5))
    paid_refund(compensation, executed=at(5), amount="10.00", kind="compensation")
    paid_refund(difference, executed=at(5), amount="30.00", kind="price_difference")

    per_case = figure("compensation_per_case", shop)

    assert (per_case.value, per_case.numerator, per_case.denominator) == (Decimal("5.00"), Decimal("10.00"), 2)


def test_a_repair_and_a_price_protection_count_in_the_refund_completion_time(shop):
    """Seed 003 counts every finished after-sales: a repair opened on the 3rd at 10:00 and resolved on the 5th at
    10:00 (48 h) and a price protection refunded in 6 h → (48 + 6) / 2 = 27.00 h."""
    ticket(shop, opened=at(3), kind="repair", path=4, state="resolved", closed=at(5))
    ticket(shop, opened=at(3), kind="price_protection", state="refunded", closed=at(3, 16))

    completion = figure("refund_completion_time", shop)

    assert (completion.value, completion.denominator) == (Decimal("27.00"), 2)
