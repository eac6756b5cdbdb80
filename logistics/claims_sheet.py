"""The claims reconciliation sheet (理赔对账表): a courier's month of claims as an .xlsx, and the same sheet read back
once the courier has answered each row in 快递结果 (赔付 / 拒赔), 赔付金额 and 说明.

The sheet is a document for the courier, so its headers and words are Chinese whatever language the desk is read in;
the reader also takes English headers and results. Nothing here writes: `services.claims_apply_settlement` applies
what `read_settlement` found, and only when it found no row in error.
"""

import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from aftersales.models import ZERO
from aftersales.selectors import shops_for_user
from aftersales.services import parse_amount
from aftersales.spreadsheets import sheet_append
from desk.errors import ActionRefused
from logistics.models import ClaimCause, ClaimRemedy, Courier, CourierClaim
from logistics.services.claims import ClaimSettlementRow, claim_settlement_check

SHEET_TITLE = "理赔对账"
HEADERS = [
    "理赔编号",
    "登记日期",
    "店铺",
    "订单号",
    "运单号",
    "原因",
    "处理方式",
    "损失金额",
    "索赔金额",
    "状态",
    "快递结果",
    "赔付金额",
    "说明",
]
TOTAL_LABEL = "合计"
SETTLED_WORD = "赔付"
REJECTED_WORD = "拒赔"
AMOUNT_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
COUNT_FORMAT = '0" 笔"'
COLUMN_WIDTHS = {"A": 12, "B": 12, "C": 18, "D": 24, "E": 20, "F": 10, "G": 10, "H": 12, "I": 12, "J": 10}
ANSWER_WIDTHS = {"K": 10, "L": 12, "M": 30}
# The words the courier reads, fixed like the headers (the desk's own labels follow the reader's language).
CAUSE_WORDS = {ClaimCause.LOST: "丢件", ClaimCause.DAMAGED: "破损", ClaimCause.INTERCEPT: "拦截未成功"}
REMEDY_WORDS = {ClaimRemedy.PENDING: "待定", ClaimRemedy.REFUND: "退款", ClaimRemedy.RESHIP: "补发"}
STATUS_WORDS = {
    CourierClaim.Status.OPEN: "待提交",
    CourierClaim.Status.SUBMITTED: "已提交",
    CourierClaim.Status.SETTLED: "已赔付",
    CourierClaim.Status.REJECTED: "已拒赔",
}

# What the reader needs from a returned sheet: field -> accepted headers (case and spaces ignored).
ANSWER_COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("理赔编号", "reference", "claim reference", "claim"),
    "result": ("快递结果", "result", "courier result"),
    "amount": ("赔付金额", "settled amount", "settled_amount", "amount settled"),
    "note": ("说明", "note", "courier note", "remarks"),
}
RESULTS = {
    "赔付": True,
    "已赔付": True,
    "settled": True,
    "settle": True,
    "拒赔": False,
    "已拒赔": False,
    "rejected": False,
    "reject": False,
}
TOTAL_LABELS = {TOTAL_LABEL, "total", "totals"}
REFERENCE = re.compile(r"CL(\d{1,12})", re.IGNORECASE)
MAX_ROWS = 10_000
# Blank rows and the courier's own columns count too, within these bounds.
MAX_SHEET_ROWS = 2 * MAX_ROWS
MAX_COLUMNS = 60
MAX_BYTES = 5 * 1024 * 1024


class SheetFileError(Exception):
    """The file as a whole cannot be read (not an .xlsx, no header, missing columns). Message is for the user."""


@dataclass
class RowError:
    row_number: int
    message: str


@dataclass
class SettlementSheet:
    """A returned sheet, checked: the answered rows to apply, or the rows in error (then nothing is applied)."""

    rows: list[ClaimSettlementRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Rows with a claim reference but no answer yet: the courier has not decided them.
    unanswered: int = 0


def claims_for_sheet(*, courier: Courier, month: date, user) -> QuerySet[CourierClaim]:
    """The claims a courier's month sheet lists: every one not withdrawn nor still waiting for its parcel to come
    back, in the user's shops, oldest first."""
    return (
        CourierClaim.objects.filter(courier=courier, month=month, shop__in=shops_for_user(user))
        .exclude(status__in=[CourierClaim.Status.WITHDRAWN, CourierClaim.Status.WAITING_RETURN])
        .select_related("shop", "order", "shipment")
        .order_by("created_at", "id")
    )


def claims_to_xlsx(claims) -> bytes:
    """One row per claim (select `shop`, `order` and `shipment` with them), then the totals row: the count and the
    sums of the loss and of the claim. Amounts are the Decimals themselves shown with two places; the date is the
    claim's day in Beijing. The courier's three columns are left empty for them to fill."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet_append(sheet, HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in {**COLUMN_WIDTHS, **ANSWER_WIDTHS}.items():
        sheet.column_dimensions[column].width = width
    count, loss_total, claim_total = 0, ZERO, ZERO
    for claim in claims:
        tracking_number = claim.shipment.tracking_number if claim.shipment_id else claim.order.tracking_number
        sheet_append(
            sheet,
            [
                claim.reference,
                timezone.localtime(claim.created_at).date(),
                claim.shop.name,
                claim.order.platform_order_id,
                tracking_number,
                CAUSE_WORDS.get(claim.cause, claim.cause),
                REMEDY_WORDS.get(claim.remedy, claim.remedy),
                claim.loss_amount,
                claim.claim_amount,
                STATUS_WORDS.get(claim.status, claim.status),
                None,
                None,
                None,
            ],
        )
        row = sheet.max_row
        sheet.cell(row=row, column=2).number_format = DATE_FORMAT
        for column in (8, 9, 12):
            sheet.cell(row=row, column=column).number_format = AMOUNT_FORMAT
        count += 1
        loss_total += claim.loss_amount
        claim_total += claim.claim_amount
    if count:
        # A list to pick from in Excel and WPS, so the answers read back as the two words the reader knows.
        answers = DataValidation(type="list", formula1=f'"{SETTLED_WORD},{REJECTED_WORD}"', allow_blank=True)
        answers.add(f"K2:K{count + 1}")
        sheet.add_data_validation(answers)
    sheet_append(sheet, [TOTAL_LABEL, count, None, None, None, None, None, loss_total, claim_total])
    totals = sheet.max_row
    sheet.cell(row=totals, column=2).number_format = COUNT_FORMAT
    for column in (8, 9):
        sheet.cell(row=totals, column=column).number_format = AMOUNT_FORMAT
    for cell in sheet[totals]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_settlement(content: bytes, *, courier: Courier, month: date, user) -> SettlementSheet:
    """Check a returned sheet against the (courier, month) it answers, within the user's shops.

    Each row in error is reported with its row number as Excel shows it, one reason per row. Rows without an
    answer are counted, not refused; the totals row is ignored. Raises SheetFileError when the file is unusable.
    """
    table = _read_xlsx(content)
    numbered = [(number, values) for number, values in enumerate(table, start=1) if any(map(_filled, values))]
    if not numbered:
        raise SheetFileError(_("The file is empty."))
    (_header_number, header), *body = numbered
    columns = _map_header(header)
    if len(body) > MAX_ROWS:
        raise SheetFileError(
            _("The sheet has %(count)d rows; at most %(max)d can be read at once.")
            % {"count": len(body), "max": MAX_ROWS}
        )
    sheet = SettlementSheet()
    answered: list[ClaimSettlementRow] = []
    first_row_of: dict[int, int] = {}
    for row_number, values in body:
        cells = {name: values[index] if index < len(values) else None for name, index in columns.items()}
        reference, result = _text(cells["reference"]), _text(cells["result"])
        if reference.lower() in TOTAL_LABELS:
            continue
        if not result:
            sheet.unanswered += 1 if reference else 0
            continue
        try:
            row = _answer(row_number, reference, result, cells["amount"], _text(cells["note"]))
        except ActionRefused as refusal:
            sheet.errors.append(RowError(row_number, str(refusal.message)))
            continue
        if row.claim_id in first_row_of:
            sheet.errors.append(
                RowError(
                    row_number,
                    _("%(claim)s is answered twice (first on row %(row)d).")
                    % {"claim": reference.upper(), "row": first_row_of[row.claim_id]},
                )
            )
            continue
        first_row_of[row.claim_id] = row_number
        answered.append(row)
    _check_against_claims(answered, sheet, courier=courier, month=month, user=user)
    sheet.errors.sort(key=lambda error: error.row_number)
    return sheet


def _answer(row_number: int, reference: str, result: str, amount, note: str) -> ClaimSettlementRow:
    if not reference:
        raise ActionRefused("no_reference", _("The claim reference (理赔编号) is missing."))
    match = REFERENCE.fullmatch("".join(reference.split()))
    if match is None:
        raise ActionRefused("unknown_claim", _("“%(reference)s” is not a claim reference.") % {"reference": reference})
    settled = RESULTS.get(result.lower())
    if settled is None:
        raise ActionRefused(
            "unknown_result",
            _("Unknown result “%(result)s”: write %(settled)s or %(rejected)s.")
            % {"result": result, "settled": SETTLED_WORD, "rejected": REJECTED_WORD},
        )
    parsed = None
    if _filled(amount):
        try:
            parsed = parse_amount(_amount_text(amount), allow_zero=True)
        except ActionRefused as refusal:
            raise ActionRefused(refusal.code, f"{ANSWER_COLUMNS['amount'][0]}: {refusal.message}") from None
    return ClaimSettlementRow(row_number=row_number, claim_id=int(match[1]), settled=settled, amount=parsed, note=note)


def _check_against_claims(answered, sheet: SettlementSheet, *, courier, month, user) -> None:
    claims = CourierClaim.objects.filter(
        pk__in=[row.claim_id for row in answered], shop__in=shops_for_user(user)
    ).in_bulk()
    for row in answered:
        claim = claims.get(row.claim_id)
        if claim is None:
            sheet.errors.append(
                RowError(row.row_number, _("There is no claim CL%(id)06d in your shops.") % {"id": row.claim_id})
            )
            continue
        try:
            claim_settlement_check(claim=claim, row=row, courier=courier, month=month)
        except ActionRefused as refusal:
            sheet.errors.append(RowError(row.row_number, str(refusal.message)))
            continue
        sheet.rows.append(row)


def _map_header(header: list) -> dict[str, int]:
    aliases = {_normalise_header(alias): name for name, names in ANSWER_COLUMNS.items() for alias in names}
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = aliases.get(_normalise_header(title))
        if name and name not in columns:
            columns[name] = index
    missing = [names[0] for name, names in ANSWER_COLUMNS.items() if name not in columns]
    if missing:
        raise SheetFileError(
            _("The header row lacks the required columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    return columns


def _normalise_header(title) -> str:
    return "".join(str(title or "").split()).lower()


def _read_xlsx(content: bytes) -> list[tuple]:
    # Decided by the bytes, not the name: an .xlsx is a zip archive (an old .xls or a CSV is not).
    if content[:4] != b"PK\x03\x04":
        raise SheetFileError(_("The file is not an Excel workbook (.xlsx); save it as .xlsx and upload it again."))
    rows = []
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            # Read lazily with a cap, so a sheet of a million rows or columns is refused before it fills memory.
            for row in workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True):
                rows.append(row)
                if len(rows) > MAX_SHEET_ROWS:
                    raise SheetFileError(
                        _("The sheet has more than %(max)d rows; at most %(max)d can be read at once.")
                        % {"max": MAX_SHEET_ROWS}
                    )
        finally:
            workbook.close()
    except SheetFileError:
        raise
    except Exception:  # a damaged workbook fails inside openpyxl in many ways (zip, XML, cell values)
        raise SheetFileError(_("The file looks like an Excel workbook but cannot be opened.")) from None
    return rows


def _filled(value) -> bool:
    return value is not None and str(value).strip() != ""


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _amount_text(value):
    if isinstance(value, float | int):
        return value
    return str(value).replace("¥", "").replace("￥", "").replace("元", "").strip()
