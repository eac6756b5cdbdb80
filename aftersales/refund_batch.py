"""The batch-refund file (批量退款): what a shop on the default BatchFileGateway uploads to the marketplace.

Each file is one RefundBatch (services/refunds.py refund_batch_create): its refunds are sent when it is made,
and stay "sent, awaiting the marketplace" until the batch tool's result file (matched on 网关流水号)
confirms them. The headers follow the platforms' templates, so the file is in Chinese whatever
language the person downloading it reads the desk in.
"""

import io

from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from aftersales.order_export import spreadsheet_time
from aftersales.spreadsheets import sheet_append

SHEET_TITLE = "批量退款"
HEADERS = ["订单编号", "退款编号", "退款金额", "退款类型", "退款说明", "提交时间", "网关流水号"]
AMOUNT_FORMAT = "0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
COLUMN_WIDTHS = {"A": 24, "B": 24, "C": 12, "D": 12, "E": 28, "F": 20, "G": 28}


def refunds_to_batch_xlsx(refunds, *, batch=None) -> bytes:
    """One row per refund of `refunds` in `batch`, in the order given. Select `order` and `ticket__reason` with the
    refunds: the file reads both for every row. The 网关流水号 column is the reference the result file names.

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
            if batch is not None and refund.batch_id != batch.pk:
                continue
            amount = WriteOnlyCell(sheet, value=refund.amount)
            amount.number_format = AMOUNT_FORMAT
            sent_at = WriteOnlyCell(sheet, value=spreadsheet_time(refund.sent_at))
            sent_at.number_format = TIME_FORMAT
            sheet_append(
                sheet,
                [
                    refund.order.platform_order_id,
                    refund.ticket.platform_ticket_id,
                    amount,
                    str(refund.get_kind_display()),
                    refund.ticket.reason.label_zh,
                    sent_at,
                    refund.gateway_reference,
                ],
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
