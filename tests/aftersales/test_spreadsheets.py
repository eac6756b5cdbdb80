"""Every spreadsheet the desk writes is inert (CSV/formula injection): text from a buyer, a shop, a platform or a
reason label that starts with "=", "+", "-", "@", a tab or a carriage return is a text cell, never a formula, and
reads back as the text itself; amounts stay numbers. Each export is produced through its real door."""

import dataclasses
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from aftersales import roles
from aftersales.models import Order, ReturnReason
from aftersales.services import refund_execute
from aftersales.spreadsheets import sheet_append
from metrics.views import dashboard as views_dashboard
from tests.factories import OrderFactory, OrderLineFactory, ShopFactory, make_staff, open_ticket, reason
from tests.logistics.claim_fixtures import claim, courier

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DANGEROUS = ['=HYPERLINK("http://x","y")', "=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]


def read_back(content: bytes):
    """The first sheet, as a spreadsheet program opens it, and its rows of values."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def as_read(text: str) -> str:
    # XML keeps no bare carriage return: a reader sees "\r" as a line break, "\n".
    return text.replace("\r", "\n")


def assert_no_formula(sheet):
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == []


def column(rows, index):
    return [row[index] for row in rows[1:]]


def test_the_orders_export_writes_buyer_and_item_text_as_text_and_amounts_as_numbers(client):
    shop = ShopFactory()
    for number, text in enumerate(DANGEROUS):
        order = OrderFactory(shop=shop, platform_order_id=f"41000{number}", buyer_nick=text, address=text)
        OrderLineFactory(order=order, item_name=text, paid_amount=Decimal("19.90"))
    client.force_login(make_staff("supervisor", role=roles.SUPERVISOR, shops=[shop]))

    response = client.post(
        reverse("admin:aftersales_order_changelist"),
        {
            "action": "export_xlsx",
            "_selected_action": list(Order.objects.filter(shop=shop).values_list("pk", flat=True)),
            "index": 0,
        },
    )

    sheet, rows = read_back(response.content)
    assert_no_formula(sheet)
    header = rows[0]
    expected = [as_read(text) for text in DANGEROUS]
    for name in ("买家昵称", "详细地址", "商品名称"):
        assert column(rows, header.index(name)) == expected
    assert column(rows, header.index("商品实付")) == [19.9] * len(DANGEROUS)
    amount_cells = [row[header.index("实付金额")] for row in sheet.iter_rows(min_row=2)]
    assert {cell.data_type for cell in amount_cells} == {"n"}


def test_the_claims_sheet_writes_shop_names_and_tracking_numbers_as_text_and_amounts_as_numbers(client):
    sf = courier("SF", "顺丰速运")
    shops = [ShopFactory(name=text) for text in DANGEROUS]
    for shop, text in zip(shops, DANGEROUS, strict=True):
        claim(shop, sf, loss="88.00", tracking_number=text)
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=shops))

    response = client.post(reverse("admin:logistics_courierclaim_export_sheet"), {"courier": sf.pk, "month": "2026-11"})

    sheet, rows = read_back(response.content)
    assert_no_formula(sheet)
    claim_rows = rows[1:-1]
    expected = sorted(as_read(text) for text in DANGEROUS)
    assert sorted(row[2] for row in claim_rows) == expected
    assert sorted(row[4] for row in claim_rows) == expected
    assert [row[7] for row in claim_rows] == [88] * len(DANGEROUS)
    assert rows[-1][7] == 88 * len(DANGEROUS)
    assert {sheet.cell(row=row, column=8).data_type for row in range(2, sheet.max_row + 1)} == {"n"}


def test_the_batch_refund_file_writes_ticket_ids_and_reason_labels_as_text_and_amounts_as_numbers(client):
    shop = ShopFactory()
    usual = reason()
    refunds = []
    for number, text in enumerate(DANGEROUS):
        ReturnReason.objects.create(
            code=f"injected-{number}", category=usual.category, label_zh=text, label_en=f"Injected {number}"
        )
        ticket = open_ticket(
            OrderFactory(shop=shop),
            requested_amount="19.90",
            platform_ticket_id=f"{text}#{number}",
            reason_code=f"injected-{number}",
        )
        refunds.append(refund_execute(refund_id=ticket.refunds.get().pk))
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))

    response = client.post(
        reverse("admin:aftersales_refund_changelist"),
        {"action": "download_batch_file", "_selected_action": [refund.pk for refund in refunds]},
    )

    sheet, rows = read_back(response.content)
    assert_no_formula(sheet)
    # The ticket service strips a platform id of surrounding blanks; "\t=1" is stored as "=1".
    assert sorted(column(rows, 1)) == sorted(f"{text.strip()}#{number}" for number, text in enumerate(DANGEROUS))
    assert sorted(column(rows, 4)) == sorted(as_read(text) for text in DANGEROUS)
    assert column(rows, 2) == [19.9] * len(DANGEROUS)
    assert {sheet.cell(row=row, column=3).data_type for row in range(2, sheet.max_row + 1)} == {"n"}


def test_the_kpi_table_writes_metric_names_as_text_and_figures_as_numbers(client, monkeypatch):
    shop = ShopFactory()
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))
    # The names are the desk's own (translated) words; a translation is text from outside too.
    renamed = [
        dataclasses.replace(metric, name=text) for metric, text in zip(views_dashboard.METRICS, DANGEROUS, strict=False)
    ]
    monkeypatch.setattr(views_dashboard, "METRICS", renamed)

    response = client.get(reverse("metrics:dashboard"), {"shop": shop.pk, "days": 30, "format": "xlsx"})

    sheet, rows = read_back(response.content)
    assert_no_formula(sheet)
    assert column(rows, 0) == [as_read(text) for text in DANGEROUS]
    denominators = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert {cell.data_type for cell in denominators} == {"n"}


def test_a_row_keeps_negative_numbers_as_numbers_and_every_string_as_text():
    workbook = Workbook()
    sheet = workbook.active

    sheet_append(sheet, [Decimal("-19.90"), -3, "-3", "=1+1", "#N/A", "正常", None])

    cells = list(sheet.iter_rows())[0]
    assert [cell.data_type for cell in cells[:6]] == ["n", "n", "s", "s", "s", "s"]
    assert [cell.value for cell in cells[:6]] == [Decimal("-19.90"), -3, "-3", "=1+1", "#N/A", "正常"]
    assert [cell.quotePrefix for cell in cells[:6]] == [False, False, True, True, False, False]


def test_every_module_that_makes_a_workbook_writes_its_rows_through_the_shared_helper():
    writers = [
        path
        for app in ("desk", "aftersales", "logistics", "metrics", "warehouse", "config")
        for path in (ROOT / app).rglob("*.py")
        if "Workbook(" in path.read_text(encoding="utf-8")
    ]

    assert writers  # the four exports at least
    for path in writers:
        source = path.read_text(encoding="utf-8")
        assert "sheet_append" in source, path
        assert "sheet.append(" not in source, path
