"""The batch-refund file (批量退款): what a shop on the default BatchFileGateway uploads to the marketplace.

The gateway records a refund as executed here; the money reaches the buyer when the shop uploads this file to the
marketplace's batch-refund tool. The headers follow the platforms' templates, so the file is in Chinese whatever
language the person downloading it reads the desk in.
"""

import io

from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from aftersales.models import Refund
from aftersales.order_export import spreadsheet_time
from aftersales.spreadsheets import sheet_append

SHEET_TITLE = "批量退款"
HEADERS = ["订单编号", "退款编号", "退款金额", "退款类型", "退款说明", "执行时间", "网关流水号"]
AMOUNT_FORMAT = "0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
COLUMN_WIDTHS = {"A": 24, "B": 24, "C": 12, "D": 12, "E": 28, "F": 20, "G": 28}


def refunds_to_batch_xlsx(refunds) -> bytes:
    """One row per succeeded refund of `refunds`, in the order given; others are left out (nothing to upload yet,
    or nothing to pay). Select `order` and `ticket__reason` with the refunds: the file reads both for every row.

    Amounts are written as the Decimal itself with two places shown, so 19.90 is 19.90 and not 19.899999…;
    execution times are Beijing wall-clock times, naive, since a spreadsheet cell has no time zone.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for column, width in COLUMN_WIDTHS.items():
        sheet.column_dimensions[column].width = width
    sheet_append(sheet, HEADERS)
    with translation.override("zh-hans"):
        for refund in refunds:
            if refund.status != Refund.Status.SUCCEEDED:
                continue
            amount = WriteOnlyCell(sheet, value=refund.amount)
            amount.number_format = AMOUNT_FORMAT
            executed_at = WriteOnlyCell(sheet, value=spreadsheet_time(refund.executed_at))
            executed_at.number_format = TIME_FORMAT
            sheet_append(
                sheet,
                [
                    refund.order.platform_order_id,
                    refund.ticket.platform_ticket_id,
                    amount,
                    str(refund.get_kind_display()),
                    refund.ticket.reason.label_zh,
                    executed_at,
                    refund.gateway_reference,
                ],
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
