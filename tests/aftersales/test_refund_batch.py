"""The batch-refund file (批量退款) read back as the marketplace's tool would read it."""

import io
import zipfile
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation
from openpyxl import load_workbook

from aftersales.gateways import SendOutcome, SendResult
from aftersales.models import Refund
from aftersales.refund_batch import HEADERS, refunds_to_batch_xlsx
from aftersales.selectors import system_user
from aftersales.services import refund_batch_create, refund_execute
from tests.factories import OrderFactory, ShopFactory, open_ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


class RefusingGateway:
    name = "refusing"

    def send(self, refund):
        return SendResult(SendOutcome.FAILED, error="买家账户异常")


def auto_refund(shop, order_id, amount, *, platform_ticket_id, reason_code="address_change"):
    order = OrderFactory(shop=shop, platform_order_id=order_id, paid_amount=Decimal("199.00"))
    ticket = open_ticket(order, requested_amount=amount, platform_ticket_id=platform_ticket_id, reason_code=reason_code)
    return ticket.refunds.get()


def read_back(content):
    sheet = load_workbook(io.BytesIO(content)).active
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_batch_file_has_one_row_per_refund_of_its_batch_with_the_platforms_headers(settings):
    shop = ShopFactory()
    partial = refund_execute(refund_id=auto_refund(shop, "4001", "19.90", platform_ticket_id="RF-1").pk)
    full = refund_execute(refund_id=auto_refund(shop, "4002", "199.00", platform_ticket_id="RF-2").pk)
    never_sent = auto_refund(shop, "4003", "33.30", platform_ticket_id="RF-3")
    settings.REFUND_GATEWAY = "tests.aftersales.test_refund_batch.RefusingGateway"
    failed = refund_execute(refund_id=auto_refund(shop, "4004", "12.00", platform_ticket_id="RF-4").pk)
    assert (never_sent.status, failed.status) == (Refund.Status.PENDING, Refund.Status.FAILED)
    # Made at 10:30:15.123456 Beijing time, 02:30 UTC: the file shows the Beijing wall-clock time.
    with time_machine.travel(datetime(2026, 11, 24, 10, 30, 15, 123456, tzinfo=SHANGHAI), tick=False):
        batch = refund_batch_create(shop=shop, by=system_user())

    content = bytes(batch.content)

    sheet, rows = read_back(content)
    with translation.override("zh-hans"):
        partial_label, full_label = str(Refund.Kind.PARTIAL.label), str(Refund.Kind.FULL.label)
    executed = datetime(2026, 11, 24, 10, 30, 15)  # noqa: DTZ001 - a spreadsheet cell has no time zone
    assert sheet.title == "批量退款"
    assert rows == [
        ["订单编号", "退款编号", "退款金额", "退款类型", "退款说明", "提交时间", "网关流水号"],
        ["4001", "RF-1", 19.9, partial_label, "修改地址", executed, f"B{shop.pk}-00001-{partial.pk}"],
        ["4002", "RF-2", 199, full_label, "修改地址", executed, f"B{shop.pk}-00001-{full.pk}"],
    ]
    assert rows[0] == HEADERS
    assert [sheet.cell(row=row, column=3).number_format for row in (2, 3)] == ["0.00", "0.00"]
    assert sheet.cell(row=2, column=6).number_format == "yyyy-mm-dd hh:mm:ss"
    # The Decimal is written at 16 significant digits: the amount itself, no binary artefact (19.899999999999999).
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>19.9</v>" in xml
    assert "<v>199</v>" in xml


def test_the_batch_file_is_in_chinese_whatever_language_the_desk_is_read_in():
    shop = ShopFactory()
    refund_execute(refund_id=auto_refund(shop, "4001", "19.90", platform_ticket_id="RF-1").pk)

    with translation.override("en"):
        _sheet, rows = read_back(bytes(refund_batch_create(shop=shop, by=system_user()).content))

    assert rows[0][0] == "订单编号"
    assert rows[1][4] == "修改地址"


def test_a_batch_file_of_no_refunds_has_only_the_headers():
    _sheet, rows = read_back(refunds_to_batch_xlsx([]))

    assert rows == [HEADERS]
