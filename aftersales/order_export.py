"""Orders to an .xlsx workbook whose headers the importer reads back (one row per line)."""

import io

from django.utils import timezone
from openpyxl import Workbook

from aftersales.order_import import COLUMNS

# Every column the importer knows, in its order, so an export always imports back.
EXPORT_COLUMNS = list(COLUMNS)


def orders_to_xlsx(orders) -> bytes:
    """`orders` must have its lines prefetched. Times are written in Asia/Shanghai, as the shop reads them."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([COLUMNS[name][0] for name in EXPORT_COLUMNS])
    for order in orders:
        for line in order.lines.all():
            values = {
                **{name: getattr(order, name, None) for name in EXPORT_COLUMNS},
                "sku": line.sku,
                "item_name": line.item_name,
                "quantity": line.quantity,
                "line_paid_amount": line.paid_amount,
            }
            sheet.append([_cell(values[name]) for name in EXPORT_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if hasattr(value, "tzinfo") and value is not None and value.tzinfo is not None:
        # Whole seconds, as the platforms' back offices export them (Excel itself keeps only milliseconds).
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return value
