"""Reading and checking an order export (CSV or XLSX) before anything is written.

One row per order line, as the Tmall/Taobao, Douyin and JD back offices and most ERPs export them: the order's
columns repeat on each of its lines. Headers may be Chinese or English (see COLUMNS). A row that fails is reported
with its spreadsheet row number and reason; an order with any failing row is left out whole, so no order is ever
half-imported. Nothing here writes: `services.order_import_apply` writes the plan.
"""

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django import forms
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from aftersales.models import OPEN_TICKET_STATES, AfterSalesTicket, Order, OrderLine, Shop

MAX_ROWS = 50_000

# field name -> accepted header names (compared case-insensitively, spaces ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "platform_order_id": ("订单号", "订单编号", "主订单编号", "platform_order_id", "order_id"),
    "buyer_nick": ("买家昵称", "买家会员名", "buyer_nick"),
    "receiver_name": ("收货人", "收货人姓名", "receiver_name"),
    "receiver_phone": ("联系电话", "联系手机", "收货人手机", "receiver_phone"),
    "province": ("省", "省份", "收货省份", "province"),
    "city": ("市", "城市", "city"),
    "district": ("区", "区县", "district"),
    "address": ("详细地址", "收货地址", "address"),
    "paid_amount": ("实付金额", "买家实付金额", "订单实付", "paid_amount"),
    "paid_at": ("付款时间", "支付时间", "paid_at"),
    "packed_at": ("打包时间", "packed_at"),
    "shipped_at": ("发货时间", "shipped_at"),
    "courier_code": ("快递公司", "物流公司", "courier_code"),
    "tracking_number": ("运单号", "快递单号", "物流单号", "tracking_number"),
    "delivered_at": ("签收时间", "delivered_at"),
    # What the platforms' logistics metrics need (seed 004): empty cells keep the defaults (in stock, ships).
    "promised_ship_by": ("承诺发货时间", "最晚发货时间", "promised_ship_by"),
    "is_presale": ("是否预售", "预售", "is_presale"),
    "is_custom_made": ("是否定制", "定制", "is_custom_made"),
    "needs_shipping": ("是否需要发货", "需要发货", "needs_shipping"),
    "sku": ("商品编码", "sku编码", "sku"),
    "item_name": ("商品名称", "宝贝标题", "item_name"),
    "quantity": ("数量", "购买数量", "quantity"),
    "line_paid_amount": ("商品实付", "子订单实付", "line_paid_amount"),
}
REQUIRED_COLUMNS = ("platform_order_id", "paid_amount", "paid_at", "sku", "item_name", "quantity")
ORDER_FIELDS = [
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
    "promised_ship_by",
    "is_presale",
    "is_custom_made",
    "needs_shipping",
]
LINE_FIELDS = ["sku", "item_name", "quantity", "paid_amount"]
DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
]


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, missing columns). Message is for the user."""


def _model_max_length(name: str) -> int:
    return Order._meta.get_field(name).max_length


YES = {"是", "1", "true", "yes", "y"}
NO = {"否", "0", "false", "no", "n"}


class YesNoField(forms.Field):
    """是/否 (or 1/0, true/false, yes/no) in a spreadsheet cell; an empty cell is the model's default."""

    def __init__(self, *, default: bool, **kwargs):
        self.default = default
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        text = str(value if value is not None else "").strip().lower()
        if text == "":
            return self.default
        if text in YES:
            return True
        if text in NO:
            return False
        raise forms.ValidationError(_("Enter 是 or 否."), code="invalid")


class OrderRowForm(forms.Form):
    """One spreadsheet row. Django's form fields give localized messages and aware datetimes in Asia/Shanghai."""

    platform_order_id = forms.CharField(max_length=_model_max_length("platform_order_id"))
    buyer_nick = forms.CharField(max_length=_model_max_length("buyer_nick"), required=False)
    receiver_name = forms.CharField(max_length=_model_max_length("receiver_name"), required=False)
    receiver_phone = forms.CharField(max_length=_model_max_length("receiver_phone"), required=False)
    province = forms.CharField(max_length=_model_max_length("province"), required=False)
    city = forms.CharField(max_length=_model_max_length("city"), required=False)
    district = forms.CharField(max_length=_model_max_length("district"), required=False)
    address = forms.CharField(max_length=_model_max_length("address"), required=False)
    paid_amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    paid_at = forms.DateTimeField(input_formats=DATETIME_FORMATS)
    packed_at = forms.DateTimeField(input_formats=DATETIME_FORMATS, required=False)
    shipped_at = forms.DateTimeField(input_formats=DATETIME_FORMATS, required=False)
    courier_code = forms.CharField(max_length=_model_max_length("courier_code"), required=False)
    tracking_number = forms.CharField(max_length=_model_max_length("tracking_number"), required=False)
    delivered_at = forms.DateTimeField(input_formats=DATETIME_FORMATS, required=False)
    promised_ship_by = forms.DateTimeField(input_formats=DATETIME_FORMATS, required=False)
    is_presale = YesNoField(default=False)
    is_custom_made = YesNoField(default=False)
    needs_shipping = YesNoField(default=True)
    sku = forms.CharField(max_length=64)
    item_name = forms.CharField(max_length=200)
    quantity = forms.IntegerField(min_value=1, max_value=100_000)
    line_paid_amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    def clean(self):
        data = super().clean()
        paid_at, shipped_at = data.get("paid_at"), data.get("shipped_at")
        if paid_at and shipped_at and shipped_at < paid_at:
            self.add_error("shipped_at", _("The order was shipped before it was paid."))
        if data.get("delivered_at") and not shipped_at and "shipped_at" not in self.errors:
            self.add_error("delivered_at", _("A delivered order needs a shipping time."))
        if shipped_at and not data.get("tracking_number"):
            self.add_error("tracking_number", _("A shipped order needs a tracking number."))
        return data


DUPLICATE = "duplicate"


@dataclass
class RowError:
    row_number: int
    message: str
    # The rule that refused it, for the API's error code: "invalid" for bad input.
    code: str = "invalid"


def below_refunded_message(refunded: Decimal) -> str:
    return _("The paid amount is below the ¥%(refunded)s already refunded on this order.") % {"refunded": refunded}


@dataclass(frozen=True)
class FieldChange:
    """One value an import changes on an existing order, as people read it (money as ¥ with two decimals)."""

    label: str
    old: str
    new: str


@dataclass
class PlannedOrder:
    class Status(models.TextChoices):
        NEW = "new", gettext_lazy("new")
        UPDATED = "updated", gettext_lazy("updated")
        UNCHANGED = "unchanged", gettext_lazy("unchanged")

    platform_order_id: str
    fields: dict
    lines: list[dict]
    row_numbers: list[int]
    status: Status = Status.NEW
    # Set when the file raises the paid amount of an order that has tickets or refunds: the paid amount that stays
    # until another supervisor confirms the raise (a pending OrderCorrection); the other columns still apply.
    held_paid_amount: Decimal | None = None
    # An existing order's values the file changes, order columns then lines (empty for a new or unchanged order).
    changes: list[FieldChange] = field(default_factory=list)
    # The order exists and a ticket on it is still open: its update waits for its own confirmation.
    has_open_ticket: bool = False

    @property
    def status_label(self) -> str:
        return str(self.status.label)

    @property
    def is_written(self) -> bool:
        """New, updated, or unchanged but for a paid amount raise that becomes a pending correction."""
        return self.status != PlannedOrder.Status.UNCHANGED or self.held_paid_amount is not None

    @property
    def awaits_open_ticket_confirmation(self) -> bool:
        return self.has_open_ticket and self.is_written


@dataclass
class ImportPlan:
    shop: Shop
    orders: list[PlannedOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0

    @property
    def orders_to_write(self) -> list[PlannedOrder]:
        return [planned for planned in self.orders if planned.is_written]

    @property
    def held_orders(self) -> list[PlannedOrder]:
        return [planned for planned in self.orders if planned.held_paid_amount is not None]

    @property
    def open_ticket_orders(self) -> list[PlannedOrder]:
        """Updates of orders with an open ticket: written only when the importer confirms them separately."""
        return [planned for planned in self.orders if planned.awaits_open_ticket_confirmation]

    @property
    def duplicates(self) -> list[RowError]:
        """Rows that repeat another row of the same order and SKU; their order is left out, never merged."""
        return [error for error in self.errors if error.code == DUPLICATE]

    @property
    def row_errors(self) -> list[RowError]:
        return [error for error in self.errors if error.code != DUPLICATE]

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in PlannedOrder.Status}
        for planned in self.orders:
            counts[planned.status.value] += 1
        return counts


def read_rows(content: bytes, *, map_header: Callable[[list], dict[str, int]] | None = None) -> list[dict]:
    """Rows as {field name: raw value}, keyed by our field names, with '_row' holding the spreadsheet row number.

    The type is decided by the bytes, not the name: an .xlsx is a zip archive; anything else must be CSV text.
    `map_header` turns the header row into {field name: column index}; by default the order columns'.
    """
    if content[:4] == b"PK\x03\x04":
        table = _read_xlsx(content)
    else:
        if b"\x00" in content[:4096]:
            raise ImportFileError(_("The file is neither an Excel workbook (.xlsx) nor a CSV text file."))
        table = _read_csv(content)
    table = [row for row in table if any(_is_filled(value) for value in row)]
    if not table:
        raise ImportFileError(_("The file is empty."))
    header, *body = table
    columns = (map_header or _map_header)(header)
    if len(body) > MAX_ROWS:
        raise ImportFileError(
            _("The file has %(count)d rows; at most %(max)d can be imported at once.")
            % {"count": len(body), "max": MAX_ROWS}
        )
    rows = []
    for offset, values in enumerate(body):
        row = {name: values[index] if index < len(values) else None for name, index in columns.items()}
        row["_row"] = offset + 2  # the header is row 1, as the user sees it in Excel
        rows.append(row)
    return rows


def plan_order_import(*, shop: Shop, rows: list[dict]) -> ImportPlan:
    """Check every row and group lines into orders; classify each order as new, updated or unchanged."""
    plan = ImportPlan(shop=shop, row_count=len(rows))
    rows_by_order: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    failed_orders: dict[str, int] = {}
    for row in rows:
        row_number = row["_row"]
        order_id = _order_id_of(row)
        form = OrderRowForm(data={name: _clean_raw(name, row.get(name)) for name in COLUMNS})
        if order_id is None or not form.is_valid():
            plan.errors.append(RowError(row_number, _form_message(form, row)))
            if order_id:
                failed_orders.setdefault(order_id, row_number)
            continue
        rows_by_order[form.cleaned_data["platform_order_id"]].append((row_number, form.cleaned_data))

    for order_id, order_rows in rows_by_order.items():
        if order_id in failed_orders:
            plan.errors.extend(_whole_order_rejected([number for number, _data in order_rows], failed_orders[order_id]))
            continue
        planned = _plan_one_order(order_id, order_rows, plan.errors)
        if planned:
            plan.orders.append(planned)

    _classify_against_database(shop, plan)
    plan.errors.sort(key=lambda error: error.row_number)
    return plan


def _plan_one_order(order_id: str, order_rows: list[tuple[int, dict]], errors: list[RowError]) -> PlannedOrder | None:
    first_row_number, first = order_rows[0]
    order_fields = {name: first[name] for name in ORDER_FIELDS}
    lines: list[dict] = []
    row_errors: list[RowError] = []
    seen_skus: dict[str, int] = {}
    rows_by_number = dict(order_rows)
    for row_number, data in order_rows:
        if data["sku"] in seen_skus:
            # Never merged: the same line twice may be a copied row or two sub-orders of one SKU; only the user knows.
            row_errors.append(_duplicate(order_id, data, row_number, seen_skus[data["sku"]], rows_by_number))
            continue
        seen_skus[data["sku"]] = row_number
        differing = [name for name in ORDER_FIELDS if data[name] != order_fields[name]]
        if differing:
            row_errors.append(
                RowError(
                    row_number,
                    _("The order columns (%(columns)s) differ from row %(row)d of the same order.")
                    % {"columns": ", ".join(differing), "row": first_row_number},
                )
            )
            continue
        line_paid = data["line_paid_amount"]
        if line_paid is None:
            if len(order_rows) > 1:
                row_errors.append(RowError(row_number, _("An order with several lines needs each line's paid amount.")))
                continue
            line_paid = data["paid_amount"]
        lines.append(
            {
                "sku": data["sku"],
                "item_name": data["item_name"],
                "quantity": data["quantity"],
                "paid_amount": line_paid,
            }
        )
    if not row_errors:
        lines_total = sum((line["paid_amount"] for line in lines), Decimal("0.00"))
        if lines_total > order_fields["paid_amount"]:
            row_errors.append(
                RowError(
                    first_row_number,
                    _("The lines' paid amounts add up to %(lines)s, more than the order's paid amount %(order)s.")
                    % {"lines": lines_total, "order": order_fields["paid_amount"]},
                )
            )
    if row_errors:
        errors.extend(row_errors)
        rejected_rows = {error.row_number for error in row_errors}
        untouched_rows = [number for number, _data in order_rows if number not in rejected_rows]
        errors.extend(_whole_order_rejected(untouched_rows, min(rejected_rows)))
        return None
    return PlannedOrder(order_id, order_fields, lines, [number for number, _data in order_rows])


def _duplicate(order_id: str, data: dict, row_number: int, first_row: int, rows_by_number: dict) -> RowError:
    values = {"first": first_row, "row": row_number, "order": order_id, "sku": data["sku"]}
    if data == rows_by_number[first_row]:
        message = _(
            "Duplicate: rows %(first)d and %(row)d are the same line of order %(order)s (SKU %(sku)s). The order is "
            "not imported: delete the copy, or put both on one row with the total quantity and amount."
        )
    else:
        message = _(
            "Duplicate: rows %(first)d and %(row)d are both SKU %(sku)s of order %(order)s, with different values. "
            "The order is not imported: keep one row per SKU."
        )
    return RowError(row_number, message % values, code=DUPLICATE)


def _whole_order_rejected(row_numbers: list[int], failed_row: int) -> list[RowError]:
    """The good rows of an order that has a bad row: reported too, so the user sees why nothing of it came in."""
    message = _("Row %(row)d of the same order has an error, so the whole order was not imported.") % {
        "row": failed_row
    }
    return [RowError(row_number, message) for row_number in row_numbers]


def _classify_against_database(shop: Shop, plan: ImportPlan) -> None:
    by_id = {planned.platform_order_id: planned for planned in plan.orders}
    ids = list(by_id)
    refused = set()
    for start in range(0, len(ids), 1000):
        existing = (
            Order.objects.filter(shop=shop, platform_order_id__in=ids[start : start + 1000])
            .annotate(
                has_after_sales=Exists(AfterSalesTicket.objects.filter(order=OuterRef("pk"))),
                has_open_ticket=HAS_OPEN_TICKET,
            )
            .prefetch_related("lines")
        )
        for order in existing:
            planned = by_id[order.platform_order_id]
            if planned.fields["paid_amount"] < order.refunded_amount:
                # The database would refuse it anyway (refunded never above paid); say why instead.
                message = below_refunded_message(order.refunded_amount)
                plan.errors.extend(
                    RowError(row_number, message, code="below_refunded") for row_number in planned.row_numbers
                )
                refused.add(order.platform_order_id)
                continue
            fields = dict(planned.fields)
            if fields["paid_amount"] > order.paid_amount and (order.has_after_sales or order.refunded_amount):
                # More paid is more that can be refunded: on an order with after-sales, a second supervisor decides.
                planned.held_paid_amount = order.paid_amount
                fields["paid_amount"] = order.paid_amount
            same_order = all(getattr(order, name) == value for name, value in fields.items())
            stored_lines = {line.sku: {name: getattr(line, name) for name in LINE_FIELDS} for line in order.lines.all()}
            same_lines = all(stored_lines.get(line["sku"]) == line for line in planned.lines)
            planned.status = PlannedOrder.Status.UNCHANGED if same_order and same_lines else PlannedOrder.Status.UPDATED
            planned.changes = _changes(order, planned, stored_lines)
            planned.has_open_ticket = order.has_open_ticket
    plan.orders = [planned for planned in plan.orders if planned.platform_order_id not in refused]


HAS_OPEN_TICKET = Exists(AfterSalesTicket.objects.filter(order=OuterRef("pk"), state__in=OPEN_TICKET_STATES))


def line_changes(stored_lines: dict[str, dict], lines: list[dict]) -> dict[tuple[str, str], tuple[object, object]]:
    """{(sku, field): (old, new)} for the file's lines against the stored ones ({sku: {field: value}}); a new line
    has None as its old values. Lines the file leaves out are kept, so they change nothing."""
    changed = {}
    for line in lines:
        stored = stored_lines.get(line["sku"], {})
        for name in LINE_FIELDS[1:]:
            if stored.get(name) != line[name]:
                changed[line["sku"], name] = (stored.get(name), line[name])
    return changed


def _changes(order: Order, planned: PlannedOrder, stored_lines: dict[str, dict]) -> list[FieldChange]:
    changes = []
    for name in ORDER_FIELDS:
        old, new = getattr(order, name), planned.fields[name]
        if old == new:
            continue
        shown = shown_value(new)
        if name == "paid_amount" and planned.held_paid_amount is not None:
            shown = _("%(amount)s (waits for another supervisor)") % {"amount": shown}
        changes.append(FieldChange(str(Order._meta.get_field(name).verbose_name), shown_value(old), shown))
    for (sku, name), (old, new) in line_changes(stored_lines, planned.lines).items():
        label = _("line %(sku)s: %(field)s") % {"sku": sku, "field": OrderLine._meta.get_field(name).verbose_name}
        changes.append(FieldChange(label, shown_value(old), shown_value(new)))
    return changes


def shown_value(value) -> str:
    """A value as the preview shows it: ¥ and two decimals for money, local time, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal):
        return f"¥{value:.2f}"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _order_id_of(row: dict) -> str | None:
    value = _clean_raw("platform_order_id", row.get("platform_order_id"))
    return value or None


def _form_message(form: forms.Form, row: dict) -> str:
    if isinstance(row.get("platform_order_id"), float):
        return _("The order number was stored by Excel as a number and has lost digits; format the column as text.")
    if _order_id_of(row) is None:
        return _("The order number is missing.")
    parts = []
    for name, messages in form.errors.items():
        label = COLUMNS[name][0] if name in COLUMNS else _("row")
        parts.append(f"{label}: {' '.join(messages)}")
    return "; ".join(parts)


def _clean_raw(name: str, value):
    """Normalise what spreadsheets produce: numbers for ids, currency signs, Excel dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    if isinstance(value, float) and name in {"paid_amount", "line_paid_amount", "quantity"}:
        # openpyxl hands numeric cells over as floats; their shortest repr is the figure the user typed.
        return repr(value)
    if isinstance(value, float):
        # A long order id typed into a numeric cell; refused in _form_message with a clear reason.
        return "" if name == "platform_order_id" else repr(value)
    text = str(value).strip()
    if name in {"paid_amount", "line_paid_amount"}:
        text = text.replace("¥", "").replace("￥", "").replace(",", "").strip()
    if name == "courier_code":
        text = text.upper()
    return text


def _is_filled(value) -> bool:
    return value is not None and str(value).strip() != ""


def _map_header(header: list) -> dict[str, int]:
    aliases = {_normalise_header(alias): name for name, names in COLUMNS.items() for alias in names}
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = aliases.get(_normalise_header(title))
        if name and name not in columns:
            columns[name] = index
    missing = [COLUMNS[name][0] for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(
            _("The header row lacks the required columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    return columns


def _normalise_header(title) -> str:
    return "".join(str(title or "").split()).lower()


def _read_csv(content: bytes) -> list[list]:
    # Excel on Chinese Windows saves CSV as GBK; everything else sends UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The CSV file is neither UTF-8 nor GBK text."))
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": error}) from None


def _read_xlsx(content: bytes) -> list[list]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError(_("The file looks like an Excel workbook but cannot be opened.")) from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
