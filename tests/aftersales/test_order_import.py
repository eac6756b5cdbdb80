"""Order import from CSV/XLSX: preview, row-level errors, good rows imported, re-import without duplicates."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from aftersales import roles
from aftersales.models import OPEN_TICKET_STATES, Order, OrderEvent, OrderLine
from aftersales.order_import import ImportFileError, plan_order_import, read_rows
from aftersales.selectors import system_user
from aftersales.services import order_import_apply
from tests.factories import ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
IMPORT_URL = reverse("admin:aftersales_order_import")
HEADER = [
    "订单号",
    "收货人",
    "省份",
    "实付金额",
    "付款时间",
    "发货时间",
    "快递公司",
    "运单号",
    "商品编码",
    "商品名称",
    "数量",
    "商品实付",
]
GOOD_ROWS = [
    # a two-line order
    [
        "4100000000000000001",
        "王芳",
        "浙江省",
        "¥728.00",
        "2026-11-11 00:05:12",
        "2026-11-11 18:00:00",
        "zto",
        "75310000000001",
        "SY-JK-001",
        "冲锋衣",
        "1",
        "599.00",
    ],
    [
        "4100000000000000001",
        "王芳",
        "浙江省",
        "¥728.00",
        "2026-11-11 00:05:12",
        "2026-11-11 18:00:00",
        "zto",
        "75310000000001",
        "SY-TS-010",
        "速干T恤",
        "1",
        "129.00",
    ],
    # a one-line order, not shipped, no line amount (it is the order's)
    [
        "4100000000000000002",
        "李强",
        "新疆维吾尔自治区",
        "1,299.00",
        "2026/11/11 10:00",
        "",
        "",
        "",
        "SY-SH-020",
        "登山鞋",
        "2",
        "",
    ],
]
BAD_ROWS = [
    # row 5: the amount is not a number
    [
        "4100000000000000003",
        "张伟",
        "广东省",
        "abc",
        "2026-11-11 09:00:00",
        "",
        "",
        "",
        "SY-BT-030",
        "保温杯",
        "1",
        "",
    ],
    # row 6: shipped before it was paid
    [
        "4100000000000000004",
        "刘洋",
        "江苏省",
        "89.00",
        "2026-11-11 09:00:00",
        "2026-11-10 09:00:00",
        "SF",
        "SF000000000001",
        "SY-BT-030",
        "保温杯",
        "1",
        "",
    ],
    # row 7: no order number
    ["", "陈静", "四川省", "49.00", "2026-11-11 09:00:00", "", "", "", "SY-SK-050", "徒步袜", "1", ""],
    # row 8: quantity zero
    [
        "4100000000000000005",
        "杨磊",
        "湖北省",
        "49.00",
        "2026-11-11 09:00:00",
        "",
        "",
        "",
        "SY-SK-050",
        "徒步袜",
        "0",
        "",
    ],
]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外天猫旗舰店")


@pytest.fixture
def supervisor_client(client, shop):
    client.force_login(make_staff("supervisor", role=roles.SUPERVISOR, shops=[shop]))
    return client


def upload(client, shop, content: bytes, name="orders.csv"):
    return client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile(name, content)})


def test_preview_reports_each_bad_row_with_its_number_and_reason_and_writes_nothing(supervisor_client, shop):
    response = upload(supervisor_client, shop, csv_bytes(GOOD_ROWS + BAD_ROWS))

    assert response.status_code == 200
    plan = response.context["plan"]
    errors = {error.row_number: error.message for error in plan.errors}
    assert set(errors) == {5, 6, 7, 8}
    assert "实付金额" in errors[5]
    assert "发货时间" in errors[6]
    assert "订单号" in errors[7] or "order number" in errors[7]
    assert "数量" in errors[8]
    assert response.context["counts"] == {"new": 2, "updated": 0, "unchanged": 0}
    assert Order.objects.count() == 0


def test_confirm_imports_the_good_rows_and_skips_the_bad(supervisor_client, shop):
    preview = upload(supervisor_client, shop, csv_bytes(GOOD_ROWS + BAD_ROWS))

    done = supervisor_client.post(IMPORT_URL, {"token": preview.context["token"]})

    assert done.status_code == 302
    assert set(Order.objects.values_list("platform_order_id", flat=True)) == {
        "4100000000000000001",
        "4100000000000000002",
    }
    two_lines = Order.objects.get(platform_order_id="4100000000000000001")
    assert two_lines.paid_amount == Decimal("728.00")
    assert two_lines.paid_at == datetime(2026, 11, 11, 0, 5, 12, tzinfo=SHANGHAI)
    assert two_lines.courier_code == "ZTO"
    assert sorted(two_lines.lines.values_list("sku", "paid_amount")) == [
        ("SY-JK-001", Decimal("599.00")),
        ("SY-TS-010", Decimal("129.00")),
    ]
    single = Order.objects.get(platform_order_id="4100000000000000002")
    assert single.paid_amount == Decimal("1299.00")
    assert single.lines.get().paid_amount == Decimal("1299.00")
    assert single.shipped_at is None


def test_reimporting_the_same_file_creates_no_duplicates(supervisor_client, shop):
    content = csv_bytes(GOOD_ROWS)
    supervisor_client.post(IMPORT_URL, {"token": upload(supervisor_client, shop, content).context["token"]})

    again = upload(supervisor_client, shop, content)

    assert again.context["counts"] == {"new": 0, "updated": 0, "unchanged": 2}
    assert not again.context["importable"]
    supervisor_client.post(IMPORT_URL, {"token": again.context["token"]})
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 3


def test_reimport_with_a_changed_order_updates_it_in_place(supervisor_client, shop):
    supervisor_client.post(
        IMPORT_URL, {"token": upload(supervisor_client, shop, csv_bytes(GOOD_ROWS)).context["token"]}
    )
    delivered = [*GOOD_ROWS[2][:5], "2026-11-12 08:00:00", "YTO", "YT0000000000002", *GOOD_ROWS[2][8:]]

    preview = upload(supervisor_client, shop, csv_bytes([delivered]))
    supervisor_client.post(IMPORT_URL, {"token": preview.context["token"]})

    assert preview.context["counts"] == {"new": 0, "updated": 1, "unchanged": 0}
    order = Order.objects.get(platform_order_id="4100000000000000002")
    assert order.tracking_number == "YT0000000000002"
    assert Order.objects.count() == 2


def test_the_same_order_id_in_another_shop_is_another_order(supervisor_client, shop):
    other_shop = ShopFactory()
    plan_a = plan_order_import(shop=shop, rows=read_rows(csv_bytes(GOOD_ROWS)))
    plan_b = plan_order_import(shop=other_shop, rows=read_rows(csv_bytes(GOOD_ROWS)))

    order_import_apply(plan=plan_a, by=system_user(), reason="test")
    order_import_apply(plan=plan_b, by=system_user(), reason="test")

    assert Order.objects.filter(platform_order_id="4100000000000000001").count() == 2


def test_xlsx_with_excel_dates_and_numbers_imports(supervisor_client, shop):
    rows = [
        [
            "4100000000000000009",
            "周杰",
            "北京市",
            259.5,
            datetime(2026, 11, 11, 20, 0),  # noqa: DTZ001 - Excel cells are naive wall-clock times
            None,
            None,
            None,
            "SY-BP-070",
            "双肩包",
            1,
            None,
        ]
    ]
    preview = upload(supervisor_client, shop, xlsx_bytes(rows), name="export.xlsx")
    supervisor_client.post(IMPORT_URL, {"token": preview.context["token"]})

    order = Order.objects.get(platform_order_id="4100000000000000009")
    assert order.paid_amount == Decimal("259.50")
    assert order.paid_at == datetime(2026, 11, 11, 20, 0, tzinfo=SHANGHAI)


def test_an_order_id_that_excel_turned_into_a_number_is_refused_with_the_reason(shop):
    rows = read_rows(
        xlsx_bytes([[4.1e18, "周杰", "北京市", 10, datetime(2026, 11, 11), None, None, None, "S", "袜", 1, None]]),  # noqa: DTZ001 - as Excel stores it
    )

    plan = plan_order_import(shop=shop, rows=rows)

    assert len(plan.errors) == 1
    assert "文本" in plan.errors[0].message or "text" in plan.errors[0].message


def test_gbk_csv_from_chinese_excel_is_read(shop):
    plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes(GOOD_ROWS, encoding="gb18030")))

    assert plan.errors == []
    assert {planned.fields["receiver_name"] for planned in plan.orders} == {"王芳", "李强"}


def test_a_bad_line_keeps_its_whole_order_out(shop):
    broken_second_line = [*GOOD_ROWS[1][:10], "-1", "129.00"]

    plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes([GOOD_ROWS[0], broken_second_line])))

    assert plan.orders == []
    assert [error.row_number for error in plan.errors] == [2, 3]


def test_lines_adding_up_to_more_than_the_order_paid_are_refused(shop):
    too_much = [[*GOOD_ROWS[0][:11], "700.00"], [*GOOD_ROWS[1][:11], "129.00"]]

    plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes(too_much)))

    assert plan.orders == []
    assert "829.00" in plan.errors[0].message


def test_a_file_that_is_not_csv_or_xlsx_is_refused_by_content_not_name(supervisor_client, shop):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)

    response = upload(supervisor_client, shop, png, name="orders.csv")

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert Order.objects.count() == 0


def test_missing_required_columns_are_named(shop):
    with pytest.raises(ImportFileError) as error:
        read_rows(csv_bytes([["1", "2"]], header=["订单号", "收货人"]))

    assert "实付金额" in str(error.value)
    assert "商品编码" in str(error.value)


@override_settings(ORDER_IMPORT_MAX_BYTES=100)
def test_an_oversized_file_gets_a_form_error(supervisor_client, shop):
    response = upload(supervisor_client, shop, csv_bytes(GOOD_ROWS))

    assert "file" in response.context["form"].errors


def test_a_confirmation_token_cannot_be_replayed_by_another_user(supervisor_client, client, shop):
    token = upload(supervisor_client, shop, csv_bytes(GOOD_ROWS)).context["token"]
    other = make_staff("other-supervisor", role=roles.SUPERVISOR, shops=[shop])
    supervisor_client.logout()
    client.force_login(other)

    assert client.post(IMPORT_URL, {"token": token}).status_code == 403
    assert client.post(IMPORT_URL, {"token": token + "x"}).status_code == 302
    assert Order.objects.count() == 0


def test_agents_and_warehouse_cannot_import(client, shop):
    for role in (roles.AGENT, roles.WAREHOUSE):
        client.force_login(make_staff(f"{role}-user", role=role, shops=[shop]))
        assert upload(client, shop, csv_bytes(GOOD_ROWS)).status_code == 403
    assert Order.objects.count() == 0


def test_import_queries_grow_with_batches_not_rows(shop):
    def rows(count, start):
        return [
            [
                f"42{start + n:017d}",
                "王芳",
                "浙江省",
                "10.00",
                "2026-11-11 09:00:00",
                "",
                "",
                "",
                "SKU",
                "袜",
                "1",
                "",
            ]
            for n in range(count)
        ]

    def queries_for(count, start):
        plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes(rows(count, start))))
        with CaptureQueriesContext(connection) as queries:
            order_import_apply(plan=plan, by=system_user(), reason="test")
        return len(queries)

    assert queries_for(10, 0) == queries_for(400, 1000)
    assert Order.objects.count() == 410


def test_an_exported_workbook_imports_back_as_unchanged(shop):
    from aftersales.order_export import orders_to_xlsx
    from tests.factories import OrderFactory, OrderLineFactory

    order = OrderFactory(shop=shop, paid_amount=Decimal("328.00"), province="新疆维吾尔自治区")
    OrderLineFactory(order=order, sku="A", paid_amount=Decimal("199.00"))
    OrderLineFactory(order=order, sku="B", paid_amount=Decimal("129.00"))

    content = orders_to_xlsx(Order.objects.filter(pk=order.pk).prefetch_related("lines"))
    plan = plan_order_import(shop=shop, rows=read_rows(content))

    assert plan.errors == []
    assert plan.counts() == {"new": 0, "updated": 0, "unchanged": 1}


def test_a_reimport_cannot_lower_the_paid_amount_below_what_was_refunded(shop):
    order_import_apply(
        plan=plan_order_import(shop=shop, rows=read_rows(csv_bytes(GOOD_ROWS))), by=system_user(), reason="test"
    )
    order = Order.objects.get(platform_order_id="4100000000000000001")
    Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("700.00"))  # as the refund trigger keeps it
    lowered = [[*row[:3], "¥600.00", *row[4:11], "300.00"] for row in GOOD_ROWS[:2]]

    plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes(lowered)))

    assert plan.orders == []
    assert [error.row_number for error in plan.errors] == [2, 3]
    assert "700.00" in plan.errors[0].message


# --- what the preview shows: status, changes, open tickets, duplicates ------------------------------------------------


def imported(client, shop, rows):
    client.post(IMPORT_URL, {"token": upload(client, shop, csv_bytes(rows)).context["token"]})


def changed_second_order(paid="1,399.00", quantity="3"):
    """Order …002 shipped, paid more, one more pair: its one line (no line amount: the order's) changes too."""
    row = GOOD_ROWS[2]
    return [*row[:3], paid, row[4], "2026-11-12 08:00:00", "YTO", "YT0000000000002", *row[8:10], quantity, ""]


NEW_ORDER_ROW = ["4100000000000000007", "赵敏", "上海市", "59.00", "2026-11-11 11:00:00", "", "", ""] + [
    "SY-HL-060",
    "头灯",
    "1",
    "",
]


def test_the_preview_shows_each_orders_status_and_the_changes_of_an_updated_order(supervisor_client, shop):
    imported(supervisor_client, shop, GOOD_ROWS)

    preview = upload(supervisor_client, shop, csv_bytes([*GOOD_ROWS[:2], changed_second_order(), NEW_ORDER_ROW]))

    html = preview.content.decode()
    assert '<td class="status-unchanged">无变化</td>' in html
    assert '<td class="status-updated">更新</td>' in html
    assert '<td class="status-new">新增</td>' in html
    updated = {planned.platform_order_id: planned for planned in preview.context["preview_orders"]}[
        "4100000000000000002"
    ]
    assert [(change.old, change.new) for change in updated.changes] == [
        ("¥1299.00", "¥1399.00"),
        ("—", "2026-11-12 08:00:00"),
        ("—", "YTO"),
        ("—", "YT0000000000002"),
        ("2", "3"),
        ("¥1299.00", "¥1399.00"),
    ]
    assert "SY-SH-020" in updated.changes[-1].label
    assert "¥1299.00 → ¥1399.00" in html
    assert "— → YT0000000000002" in html


def test_an_update_of_an_order_with_an_open_ticket_is_listed_apart_and_skipped_without_its_own_confirmation(
    supervisor_client, shop
):
    imported(supervisor_client, shop, GOOD_ROWS)
    order = Order.objects.get(platform_order_id="4100000000000000002")
    ticket = open_ticket(order, requested_amount="100.00")
    assert ticket.state in OPEN_TICKET_STATES
    other_order = [[row[0], "王芳芳", *row[2:]] for row in GOOD_ROWS[:2]]

    preview = upload(supervisor_client, shop, csv_bytes([*other_order, changed_second_order()]))

    assert [planned.platform_order_id for planned in preview.context["open_ticket_orders"]] == [order.platform_order_id]
    assert [planned.platform_order_id for planned in preview.context["preview_orders"]] == ["4100000000000000001"]
    html = preview.content.decode()
    assert 'id="import-open-ticket"' in html
    assert 'name="apply_open_ticket_updates"' in html
    assert 'data-count="open-ticket">1<' in html

    done = supervisor_client.post(IMPORT_URL, {"token": preview.context["token"]})

    order.refresh_from_db()
    assert (order.paid_amount, order.tracking_number) == (Decimal("1299.00"), "")
    assert list(order.lines.values_list("quantity", "paid_amount")) == [(2, Decimal("1299.00"))]
    assert not OrderEvent.objects.filter(order=order).exists()
    assert Order.objects.get(platform_order_id="4100000000000000001").receiver_name == "王芳芳"
    assert any(order.platform_order_id in str(message) for message in get_messages(done.wsgi_request))


def test_an_update_of_an_order_with_an_open_ticket_is_applied_with_its_confirmation_and_its_lines_are_in_the_trail(
    supervisor_client, shop
):
    imported(supervisor_client, shop, GOOD_ROWS)
    order = Order.objects.get(platform_order_id="4100000000000000002")
    open_ticket(order, requested_amount="100.00")

    preview = upload(supervisor_client, shop, csv_bytes([changed_second_order(paid="1,299.00")]))
    supervisor_client.post(IMPORT_URL, {"token": preview.context["token"], "apply_open_ticket_updates": "on"})

    order.refresh_from_db()
    assert order.tracking_number == "YT0000000000002"
    assert list(order.lines.values_list("quantity", "paid_amount")) == [(3, Decimal("1299.00"))]
    event = OrderEvent.objects.get(order=order, action="updated_by_platform")
    assert event.changes["lines.SY-SH-020.quantity"] == {"old": "2", "new": "3"}
    assert event.changes["tracking_number"] == {"old": "", "new": "YT0000000000002"}
    page = supervisor_client.get(reverse("admin:aftersales_order_change", args=[order.pk])).content.decode()
    assert "明细 SY-SH-020：数量: 2 → 3" in page


def test_the_api_still_updates_an_order_with_an_open_ticket(shop):
    order_import_apply(
        plan=plan_order_import(shop=shop, rows=read_rows(csv_bytes(GOOD_ROWS))), by=system_user(), reason="test"
    )
    order = Order.objects.get(platform_order_id="4100000000000000002")
    open_ticket(order, requested_amount="100.00")

    summary = order_import_apply(
        plan=plan_order_import(shop=shop, rows=read_rows(csv_bytes([changed_second_order(paid="1,299.00")]))),
        by=system_user(),
        reason="pushed",
    )

    assert (summary.updated, summary.skipped) == (1, ())
    assert Order.objects.get(pk=order.pk).tracking_number == "YT0000000000002"


def test_a_row_repeated_in_the_file_is_reported_as_a_duplicate_with_both_row_numbers_and_never_merged(
    supervisor_client, shop
):
    same_sku_other_quantity = [*GOOD_ROWS[1][:10], "2", "258.00"]
    rows = [
        GOOD_ROWS[2],  # row 2
        NEW_ORDER_ROW,  # row 3
        GOOD_ROWS[2],  # row 4: row 2 again
        GOOD_ROWS[0],  # row 5
        GOOD_ROWS[1],  # row 6
        same_sku_other_quantity,  # row 7: SKU of row 6 again, other values
    ]

    preview = upload(supervisor_client, shop, csv_bytes(rows))

    duplicates = preview.context["duplicates"]
    assert [error.row_number for error in duplicates] == [4, 7]
    assert "第 2 行和第 4 行是订单 4100000000000000002 的同一行（SKU SY-SH-020）" in duplicates[0].message
    assert "第 6 行和第 7 行都是订单 4100000000000000001 的 SKU SY-TS-010，但内容不同" in duplicates[1].message
    assert {planned.platform_order_id for planned in preview.context["plan"].orders} == {"4100000000000000007"}
    html = preview.content.decode()
    assert 'id="import-duplicates"' in html
    assert duplicates[0].message in html
    supervisor_client.post(IMPORT_URL, {"token": preview.context["token"]})
    assert list(Order.objects.values_list("platform_order_id", flat=True)) == ["4100000000000000007"]


def test_updating_orders_with_their_lines_costs_queries_by_batches_not_rows(shop):
    def rows(count, start, quantity):
        return [
            [
                f"43{start + n:017d}",
                "王芳",
                "浙江省",
                "10.00",
                "2026-11-11 09:00:00",
                "",
                "",
                "",
                "SKU",
                "袜",
                quantity,
                "",
            ]
            for n in range(count)
        ]

    def update_queries(count, start):
        order_import_apply(
            plan=plan_order_import(shop=shop, rows=read_rows(csv_bytes(rows(count, start, "1")))),
            by=system_user(),
            reason="first",
        )
        plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes(rows(count, start, "2"))))
        assert plan.counts()["updated"] == count
        with CaptureQueriesContext(connection) as queries:
            summary = order_import_apply(plan=plan, by=system_user(), reason="again")
        assert summary.updated == count
        return len(queries)

    assert update_queries(10, 0) == update_queries(400, 1000)
    assert OrderEvent.objects.filter(changes__has_key="lines.SKU.quantity").count() == 410
