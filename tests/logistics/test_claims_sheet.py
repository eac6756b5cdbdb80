"""The claims reconciliation sheet (理赔对账表) read back with openpyxl, and the courier's answered sheet applied: every
wrong row named by its row number, nothing applied unless every answered row is right."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from aftersales.services import shop_assign_user
from desk.errors import ActionRefused
from logistics.claims_sheet import SheetFileError, claims_for_sheet, claims_to_xlsx, read_settlement
from logistics.models import CourierClaim, LogisticsEvent
from logistics.services import ClaimSettlementRow, ClaimSettlementSummary, claims_apply_settlement
from tests.factories import ShopFactory, make_staff
from tests.logistics.claim_fixtures import (
    NOVEMBER,
    OCTOBER,
    answered,
    claim,
    courier,
    read_sheet,
    sheet_of,
    with_broken_sheet,
)

pytestmark = pytest.mark.django_db

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
DECIDED_AT = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def manager(shop):
    return make_staff("manager", role="Manager", shops=[shop])


@pytest.fixture
def sf():
    return courier("SF", "顺丰速运")


def export(courier, user, month=NOVEMBER) -> bytes:
    return claims_to_xlsx(claims_for_sheet(courier=courier, month=month, user=user))


def read(content, courier, user, month=NOVEMBER):
    with translation.override("en"):
        return read_settlement(content, courier=courier, month=month, user=user)


def states(*claims):
    return [CourierClaim.objects.get(pk=claim.pk).status for claim in claims]


# --- the export -----------------------------------------------------------------------------------------------------


def test_the_exported_sheet_lists_the_couriers_month_in_the_users_shops_with_its_totals(shop, manager, sf):
    second = ShopFactory(name="B店")
    shop_assign_user(shop=second, user=manager)
    lost = claim(shop, sf, loss="199.00", claimed="150.00", tracking_number="SF1001")
    damaged = claim(
        second,
        sf,
        loss="19.90",
        cause="damaged",
        remedy="reship",
        status="submitted",
        tracking_number="SF1002",
        with_shipment=False,
        created_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
    )
    # Not on the sheet: withdrawn, another month, another courier, a shop the manager does not work in.
    claim(shop, sf, status="withdrawn")
    claim(shop, sf, month=OCTOBER)
    claim(shop, courier("YTO", "圆通速递"))
    claim(ShopFactory(name="C店"), sf)

    # The sheet is the courier's document: Chinese whatever language the desk is read in.
    with translation.override("en"):
        content = export(sf, manager)

    sheet, rows = read_sheet(content)
    assert sheet.title == "理赔对账"
    assert rows == [
        HEADERS,
        [
            lost.reference,
            datetime(2026, 11, 3),  # noqa: DTZ001 - 00:30 in Beijing; a spreadsheet cell has no time zone
            "A店",
            lost.order.platform_order_id,
            "SF1001",
            "丢件",
            "退款",
            199,
            150,
            "待提交",
            None,
            None,
            None,
        ],
        [
            damaged.reference,
            datetime(2026, 11, 20),  # noqa: DTZ001
            "B店",
            damaged.order.platform_order_id,
            "SF1002",
            "破损",
            "补发",
            19.9,
            19.9,
            "已提交",
            None,
            None,
            None,
        ],
        ["合计", 2, None, None, None, None, None, 218.9, 169.9, None, None, None, None],
    ]
    assert lost.reference == f"CL{lost.pk:06d}"
    amounts = [sheet.cell(row=row, column=column).number_format for row in (2, 3, 4) for column in (8, 9)]
    assert amounts == ["0.00"] * 6
    assert sheet.cell(row=2, column=12).number_format == "0.00"
    assert sheet.cell(row=2, column=2).number_format == "yyyy-mm-dd"
    # The courier picks 快递结果 from a list of the two words the reader knows.
    (validation,) = sheet.data_validations.dataValidation
    assert (validation.formula1, str(validation.sqref)) == ('"赔付,拒赔"', "K2:K3")


def test_a_month_without_claims_exports_only_the_header_and_a_zero_totals_row(manager, sf):
    _sheet, rows = read_sheet(export(sf, manager))

    assert rows == [HEADERS, ["合计", 0, None, None, None, None, None, 0, 0, None, None, None, None]]


# --- reading the courier's answers ----------------------------------------------------------------------------------


def test_the_couriers_answers_settle_and_reject_their_claims_each_with_an_event(shop, manager, sf):
    paid = claim(shop, sf, loss="199.00", claimed="150.00", status="submitted")
    partly = claim(shop, sf, loss="80.00")
    refused = claim(shop, sf, loss="59.90")
    undecided = claim(shop, sf, loss="10.00")
    content = answered(
        export(sf, manager),
        {
            paid.reference: ("赔付", 150, "按协议全额赔付"),
            partly.reference: ("赔付", "¥60.50", None),
            refused.reference: ("拒赔", None, "妥投签收，非丢件"),
        },
    )

    sheet = read(content, sf, manager)
    with time_machine.travel(DECIDED_AT, tick=False):
        summary = claims_apply_settlement(courier=sf, month=NOVEMBER, rows=sheet.rows, by=manager)

    assert (sheet.errors, sheet.unanswered) == ([], 1)
    assert summary == ClaimSettlementSummary(
        settled_count=2, settled_amount=Decimal("210.50"), rejected_count=1, rejected_claim_amount=Decimal("59.90")
    )
    decided = {
        row.pk: row
        for row in CourierClaim.objects.filter(pk__in=[paid.pk, partly.pk, refused.pk, undecided.pk]).order_by("pk")
    }
    assert [(row.status, row.settled_amount, row.courier_note, row.decided_at) for row in decided.values()] == [
        ("settled", Decimal("150.00"), "按协议全额赔付", DECIDED_AT),
        ("settled", Decimal("60.50"), "", DECIDED_AT),
        ("rejected", Decimal("0.00"), "妥投签收，非丢件", DECIDED_AT),
        ("open", None, "", None),
    ]
    events = LogisticsEvent.objects.filter(claim__in=[paid, partly, refused, undecided]).order_by("claim_id")
    assert [(e.claim_id, e.action, e.from_state, e.to_state, e.actor, e.note, e.at) for e in events] == [
        (paid.pk, "settled", "submitted", "settled", manager, "按协议全额赔付", DECIDED_AT),
        (partly.pk, "settled", "open", "settled", manager, "", DECIDED_AT),
        (refused.pk, "rejected", "open", "rejected", manager, "妥投签收，非丢件", DECIDED_AT),
    ]


def test_a_sheet_with_english_headers_and_results_is_read_too(shop, manager, sf):
    settled, rejected = claim(shop, sf), claim(shop, sf)
    content = sheet_of(
        [
            ["Reference", "Result", "Settled amount", "Note"],
            [settled.reference.lower(), "Settled", 100, None],
            [f" {rejected.reference} ", "REJECTED", None, "delivered"],
        ]
    )

    sheet = read(content, sf, manager)

    assert sheet.errors == []
    assert sheet.rows == [
        ClaimSettlementRow(row_number=2, claim_id=settled.pk, settled=True, amount=Decimal("100.00"), note=""),
        ClaimSettlementRow(row_number=3, claim_id=rejected.pk, settled=False, amount=None, note="delivered"),
    ]


def test_every_wrong_row_is_named_with_its_row_number_and_nothing_is_applied(shop, manager, sf):
    other_courier = claim(shop, courier("YTO", "圆通速递"))
    other_month = claim(shop, sf, month=OCTOBER)
    settled = claim(shop, sf, status="settled")
    withdrawn = claim(shop, sf, status="withdrawn")
    other_shop = claim(ShopFactory(name="C店"), sf)
    fine, no_amount, bad_amount, negative, above, unknown_result, no_note, paid_rejection, zero, unanswered = [
        claim(shop, sf, loss="100.00") for _ in range(10)
    ]
    rows = [
        HEADERS,
        ["CL999999", *[""] * 9, "赔付", 10, ""],
        [other_courier.reference, *[""] * 9, "赔付", 10, ""],
        [other_month.reference, *[""] * 9, "赔付", 10, ""],
        [settled.reference, *[""] * 9, "赔付", 10, ""],
        [withdrawn.reference, *[""] * 9, "拒赔", None, "已找回"],
        [other_shop.reference, *[""] * 9, "赔付", 10, ""],
        [fine.reference, *[""] * 9, "赔付", 10, ""],
        [no_amount.reference, *[""] * 9, "赔付", None, ""],
        [bad_amount.reference, *[""] * 9, "赔付", "十元", ""],
        [negative.reference, *[""] * 9, "赔付", -5, ""],
        [above.reference, *[""] * 9, "赔付", 100.01, ""],
        [unknown_result.reference, *[""] * 9, "待定", None, ""],
        [no_note.reference, *[""] * 9, "拒赔", None, ""],
        [paid_rejection.reference, *[""] * 9, "拒赔", 20, "外包装完好"],
        [zero.reference, *[""] * 9, "赔付", 0, ""],
        [fine.reference.lower(), *[""] * 9, "拒赔", None, "重复"],
        [None, *[""] * 9, "赔付", 10, ""],
        ["订单4001", *[""] * 9, "赔付", 10, ""],
        [None],
        [unanswered.reference, *[""] * 9, None, None, None],
        ["合计", 19, "", "", "", "", "", 1900, 1900],
    ]

    sheet = read(sheet_of(rows), sf, manager)

    assert [(error.row_number, error.message) for error in sheet.errors] == [
        (2, "There is no claim CL999999 in your shops."),
        (3, f"{other_courier.reference} is not one of 顺丰速运's claims for 2026-11."),
        (4, f"{other_month.reference} is not one of 顺丰速运's claims for 2026-11."),
        (5, f"{settled.reference} is already “settled”."),
        (6, f"{withdrawn.reference} is already “withdrawn”."),
        (7, f"There is no claim {other_shop.reference} in your shops."),
        (9, "A settled claim needs the amount paid, more than zero."),
        (10, "赔付金额: Enter an amount in yuan, for example 12.50."),
        (11, "赔付金额: The amount must be more than zero."),
        (12, "¥100.01 is more than the ¥100.00 claimed."),
        (13, "Unknown result “待定”: write 赔付 or 拒赔."),
        (14, "A rejection needs the courier's reason."),
        (15, "A rejected claim is paid nothing; leave the amount empty."),
        (16, "A settled claim needs the amount paid, more than zero."),
        (17, f"{fine.reference} is answered twice (first on row 8)."),
        (18, "The claim reference (理赔编号) is missing."),
        (19, "“订单4001” is not a claim reference."),
    ]
    assert [row.claim_id for row in sheet.rows] == [fine.pk]
    assert sheet.unanswered == 1
    assert set(states(fine, no_amount, zero, unanswered, other_shop)) == {"open"}
    assert not LogisticsEvent.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"reference,result\nCL000001,settled\n", "The file is not an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .xls", "The file is not an Excel workbook (.xlsx)"),
        (b"PK\x03\x04 not really a zip", "The file looks like an Excel workbook but cannot be opened."),
        (
            with_broken_sheet(sheet_of([HEADERS, ["CL000001", *[""] * 9, "赔付", 10, ""]])),
            "The file looks like an Excel workbook but cannot be opened.",
        ),
        (sheet_of([]), "The file is empty."),
        (
            sheet_of([["订单号", "金额"], ["4001", 10]]),
            "The header row lacks the required columns: 理赔编号, 快递结果, 赔付金额, 说明.",
        ),
    ],
    ids=["csv", "xls", "broken-zip", "broken-sheet-xml", "empty", "other-columns"],
)
def test_a_file_that_is_not_a_settlement_sheet_is_refused_as_a_whole(manager, sf, content, message):
    with pytest.raises(SheetFileError) as refusal:
        read(content, sf, manager)

    assert str(refusal.value).startswith(message)


def test_a_sheet_longer_than_the_limit_is_refused_before_it_is_read_whole(manager, sf, monkeypatch):
    monkeypatch.setattr("logistics.claims_sheet.MAX_SHEET_ROWS", 3)
    content = sheet_of([HEADERS, *[[f"CL{number:06d}", *[""] * 9, "赔付", 10, ""] for number in range(1, 6)]])

    with pytest.raises(SheetFileError) as refusal:
        read(content, sf, manager)

    assert str(refusal.value) == "The sheet has more than 3 rows; at most 3 can be read at once."


# --- the service: checked again under lock, all or nothing, the actor's role and shop -------------------------------


def test_a_claim_decided_since_the_sheet_was_read_undoes_the_whole_settlement(shop, manager, sf):
    first, second = claim(shop, sf), claim(shop, sf)
    content = answered(export(sf, manager), {first.reference: ("赔付", 50, ""), second.reference: ("赔付", 60, "")})
    sheet = read(content, sf, manager)
    claims_apply_settlement(courier=sf, month=NOVEMBER, rows=[sheet.rows[1]], by=manager)

    with translation.override("en"), pytest.raises(ActionRefused) as refusal:
        claims_apply_settlement(courier=sf, month=NOVEMBER, rows=sheet.rows, by=manager)

    assert refusal.value.code == "wrong_state"
    assert str(refusal.value) == f"Row 3: {second.reference} is already “settled”."
    assert states(first, second) == ["open", "settled"]
    assert LogisticsEvent.objects.filter(claim=first).count() == 0


def test_an_agent_may_not_apply_a_settlement(shop, sf):
    agent = make_staff("agent", role="Agent", shops=[shop])
    pending = claim(shop, sf)

    with pytest.raises(ActionRefused) as refusal:
        claims_apply_settlement(
            courier=sf,
            month=NOVEMBER,
            rows=[ClaimSettlementRow(row_number=2, claim_id=pending.pk, settled=True, amount=Decimal("10.00"))],
            by=agent,
        )

    assert refusal.value.code == "not_permitted"
    assert states(pending) == ["open"]
    assert not LogisticsEvent.objects.exists()


def test_a_manager_may_not_settle_another_shops_claim(shop, manager, sf):
    mine = claim(shop, sf)
    theirs = claim(ShopFactory(name="C店"), sf)
    rows = [
        ClaimSettlementRow(row_number=2, claim_id=mine.pk, settled=True, amount=Decimal("10.00")),
        ClaimSettlementRow(row_number=3, claim_id=theirs.pk, settled=False, note="拒赔"),
    ]

    with translation.override("en"), pytest.raises(ActionRefused) as refusal:
        claims_apply_settlement(courier=sf, month=NOVEMBER, rows=rows, by=manager)

    assert refusal.value.code == "other_shop"
    assert str(refusal.value) == "Row 3: You are not assigned to the shop “C店”."
    assert states(mine, theirs) == ["open", "open"]
    assert not LogisticsEvent.objects.exists()


def test_the_service_refuses_the_same_claim_twice_and_an_empty_settlement(shop, manager, sf):
    pending = claim(shop, sf)
    twice = [
        ClaimSettlementRow(row_number=2, claim_id=pending.pk, settled=True, amount=Decimal("10.00")),
        ClaimSettlementRow(row_number=5, claim_id=pending.pk, settled=False, note="重复"),
    ]

    with pytest.raises(ActionRefused) as duplicate:
        claims_apply_settlement(courier=sf, month=NOVEMBER, rows=twice, by=manager)
    with pytest.raises(ActionRefused) as empty:
        claims_apply_settlement(courier=sf, month=NOVEMBER, rows=[], by=manager)

    assert (duplicate.value.code, empty.value.code) == ("duplicate_claim", "nothing_to_apply")
    assert states(pending) == ["open"]
    assert not LogisticsEvent.objects.exists()
