"""Orders to an .xlsx workbook whose headers the importer reads back (one row per line)."""

import io
from datetime import datetime

from django.utils import timezone
from openpyxl import Workbook

from aftersales.order_import import COLUMNS
from aftersales.spreadsheets import sheet_append

# Every column the importer knows, in its order, so an export always imports back.
EXPORT_COLUMNS = list(COLUMNS)


def orders_to_xlsx(orders) -> bytes:
    """`orders` must have its lines prefetched. Times are written in Asia/Shanghai, as the shop reads them."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet_append(sheet, [COLUMNS[name][0] for name in EXPORT_COLUMNS])
    for order in orders:
        for line in order.lines.all():
            values = {
                **{name: getattr(order, name, None) for name in EXPORT_COLUMNS},
                "sku": line.sku,
                "item_name": line.item_name,
                "quantity": line.quantity,
                "line_paid_amount": line.paid_amount,
            }
            sheet_append(
                sheet,
                [
                    spreadsheet_time(values[name]) if isinstance(values[name], datetime) else values[name]
                    for name in EXPORT_COLUMNS
                ],
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def spreadsheet_time(moment):
    """An aware time as a back office exports it: Beijing wall-clock time, naive, to the whole second.

    Excel itself keeps only milliseconds, and the platforms give whole seconds.
    """
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)
