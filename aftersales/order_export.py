"""Orders to an .xlsx workbook whose headers the importer reads back (one row per line)."""

import io

from django.utils import timezone
from openpyxl import Workbook

from aftersales.order_import import COLUMNS

EXPORT_COLUMNS = [
    "platform_order_id",
    "buyer_nick",
    "receiver_name",
    "receiver_phone",
    "province",
    "city",
    "district",
    "address",
    "paid_amount",
    "paid_at",
    "packed_at",
    "shipped_at",
    "courier_code",
    "tracking_number",
    "delivered_at",
    "sku",
    "item_name",
    "quantity",
    "line_paid_amount",
]


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
        return timezone.localtime(value).replace(tzinfo=None)
    return value
