"""Claims straight into the ledger: the sheet and admin tests need claims in given states, months and shops, not the
lost-parcel and liability rules that open them in real life."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from logistics.models import Courier, CourierClaim, Shipment
from tests.factories import OrderFactory

NOVEMBER = date(2026, 11, 1)
OCTOBER = date(2026, 10, 1)
# 16:30 UTC is 00:30 the next day in Beijing: the sheet's 登记日期 is 2026-11-03.
CREATED_AT = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)


def courier(code: str = "SF", name: str = "顺丰速运") -> Courier:
    return Courier.objects.get_or_create(code=code, defaults={"name": name})[0]


def claim(
    shop,
    courier,
    *,
    month: date = NOVEMBER,
    loss: str = "100.00",
    claimed: str | None = None,
    status: str = CourierClaim.Status.OPEN,
    cause: str = "lost",
    remedy: str = "refund",
    tracking_number: str | None = None,
    with_shipment: bool = True,
    review_note: str = "",
    created_at: datetime = CREATED_AT,
) -> CourierClaim:
    """A claim on a new order of `shop`. Its parcel gets `tracking_number` (a shipment row, or only the order's
    number when `with_shipment` is false)."""
    order = OrderFactory(shop=shop, courier_code=courier.code, tracking_number=tracking_number or "")
    shipment = None
    if with_shipment:
        shipment = Shipment.objects.create(
            shop=shop,
            order=order,
            courier=courier,
            tracking_number=tracking_number or f"{courier.code}{order.platform_order_id[-10:]}",
        )
    return CourierClaim.objects.create(
        shop=shop,
        courier=courier,
        order=order,
        shipment=shipment,
        cause=cause,
        remedy=remedy,
        loss_amount=Decimal(loss),
        claim_amount=Decimal(claimed or loss),
        settled_amount=Decimal(claimed or loss) if status == CourierClaim.Status.SETTLED else None,
        month=month,
        status=status,
        review_note=review_note,
        created_at=created_at,
    )


def bulk_claims(shop, courier, count: int, *, month: date = NOVEMBER) -> list[CourierClaim]:
    """Many claims in three queries (the query-count tests need rows, not the factory's work per row)."""
    orders = OrderFactory.create_batch(count, shop=shop, courier_code=courier.code)
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(shop=shop, order=order, courier=courier, tracking_number=f"BULK{order.platform_order_id[-12:]}")
            for order in orders
        ]
    )
    return CourierClaim.objects.bulk_create(
        [
            CourierClaim(
                shop=shop,
                courier=courier,
                order=shipment.order,
                shipment=shipment,
                cause="lost",
                remedy="refund",
                loss_amount=Decimal("10.00"),
                claim_amount=Decimal("10.00"),
                month=month,
                created_at=CREATED_AT,
                review_note="扫描恢复" if index % 2 else "",
            )
            for index, shipment in enumerate(shipments)
        ]
    )


def read_sheet(content: bytes):
    """The workbook's first sheet and its rows as values, the way a courier's spreadsheet program reads it."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def answered(content: bytes, answers: dict[str, tuple], *, extra_rows: list[list] = ()) -> bytes:
    """The exported sheet as the courier returns it: `answers` maps a claim reference to its (快递结果, 赔付金额,
    说明); `extra_rows` are appended after the totals row."""
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        answer = answers.get(row[0].value)
        if answer:
            for cell, value in zip(row[10:13], answer, strict=True):
                cell.value = value
    for values in extra_rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_of(rows: list[list]) -> bytes:
    """A workbook with exactly these rows (the header first)."""
    workbook = Workbook()
    for values in rows:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_broken_sheet(content: bytes) -> bytes:
    """The workbook with its first sheet's XML cut short: a real zip that openpyxl fails on while reading rows."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[: len(data) // 2] if name == "xl/worksheets/sheet1.xml" else data)
    return buffer.getvalue()
