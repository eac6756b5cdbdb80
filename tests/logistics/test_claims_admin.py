"""The claims ledger in the admin: the user's shops only, month and courier filters with the filtered totals at a
fixed number of queries, read-only rows, the batch actions through the services, and the two sheet pages."""

from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from logistics.claims_sheet import claims_for_sheet, claims_to_xlsx
from logistics.models import CourierClaim, LogisticsEvent
from tests.factories import ShopFactory, make_staff
from tests.logistics.claim_fixtures import (
    NOVEMBER,
    OCTOBER,
    answered,
    bulk_claims,
    claim,
    courier,
    read_sheet,
)

pytestmark = pytest.mark.django_db

CLAIMS = reverse("admin:logistics_courierclaim_changelist")
EXPORT = reverse("admin:logistics_courierclaim_export_sheet")
IMPORT = reverse("admin:logistics_courierclaim_import")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def manager(shop):
    return make_staff("manager", role="Manager", shops=[shop])


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def sf():
    return courier("SF", "顺丰速运")


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries), response


def in_english(client):
    client.post(reverse("set_language"), {"language": "en", "next": CLAIMS})


def upload(content: bytes, name: str = "顺丰11月理赔.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX)


def statuses(*claims):
    return [CourierClaim.objects.get(pk=claim.pk).status for claim in claims]


# --- the list -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"month": "2026-11", "status": "open"}], ids=["all", "filtered"])
def test_the_ledger_runs_the_same_queries_for_3_and_for_30_claims(client, shop, manager, sf, params):
    client.force_login(manager)
    bulk_claims(shop, sf, 3)
    few, response = count_queries(client, CLAIMS, params)
    assert len(response.context["cl"].result_list) == 3

    bulk_claims(shop, sf, 27)
    many, response = count_queries(client, CLAIMS, params)

    assert len(response.context["cl"].result_list) == 30
    assert response.context["claim_totals"]["count"] == 30
    assert many == few


def test_the_ledger_filters_by_month_and_courier_and_totals_the_filtered_claims(client, shop, manager, sf):
    yto = courier("YTO", "圆通速递")
    first = claim(shop, sf, loss="199.00", claimed="150.00", status="settled")
    second = claim(shop, sf, loss="59.90")
    claim(shop, sf, month=OCTOBER, loss="1000.00")
    claim(shop, yto, loss="1000.00")
    claim(ShopFactory(name="C店"), sf, loss="1000.00", month=NOVEMBER.replace(month=9))
    client.force_login(manager)

    response = client.get(CLAIMS, {"month": "2026-11", "courier__id__exact": sf.pk})

    cl = response.context["cl"]
    assert {row.pk for row in cl.result_list} == {first.pk, second.pk}
    assert response.context["claim_totals"] == {
        "count": 2,
        "loss": Decimal("258.90"),
        "claimed": Decimal("209.90"),
        "settled": Decimal("150.00"),
    }
    page = response.content.decode()
    assert '<td data-total="loss">¥258.90</td>' in page
    assert '<td data-total="settled">¥150.00</td>' in page
    # The months of the manager's own claims, newest first (C店's September is not theirs to see).
    month_filter = next(spec for spec in cl.filter_specs if spec.parameter_name == "month")
    assert month_filter.lookup_choices == [("2026-11", "2026-11"), ("2026-10", "2026-10")]
    # The sheet pages open on the courier and month the list is filtered by.
    assert f'href="{EXPORT}?courier={sf.pk}&amp;month=2026-11"' in page


def test_the_ledger_shows_only_the_users_shops_and_marks_the_claims_to_review(client, shop, manager, sf):
    mine = claim(shop, sf, review_note="包裹已恢复扫描，请核对理赔")
    quiet = claim(shop, sf)
    theirs = claim(ShopFactory(name="C店"), sf)
    client.force_login(manager)

    response = client.get(CLAIMS)
    their_page = client.get(reverse("admin:logistics_courierclaim_change", args=[theirs.pk]))

    assert {row.pk for row in response.context["cl"].result_list} == {mine.pk, quiet.pk}
    assert response.content.decode().count('class="claim-needs-review"') == 1
    assert their_page.status_code == 302  # the admin's "does not exist" redirect, nothing shown


def test_a_claim_is_found_by_its_reference_and_opens_read_only(client, shop, manager, sf):
    wanted = claim(shop, sf)
    claim(shop, sf)
    client.force_login(manager)

    found = client.get(CLAIMS, {"q": wanted.reference.lower()}).context["cl"].result_list
    page = client.get(reverse("admin:logistics_courierclaim_change", args=[wanted.pk]))

    assert list(found) == [wanted]
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.get(reverse("admin:logistics_courierclaim_add")).status_code == 403


def test_the_ledger_and_its_pages_speak_chinese_by_default_and_english_when_chosen(client, manager):
    client.force_login(manager)

    chinese = [unescape(client.get(url).content.decode()) for url in (CLAIMS, EXPORT, IMPORT)]
    in_english(client)
    english = [unescape(client.get(url).content.decode()) for url in (CLAIMS, EXPORT, IMPORT)]

    assert all("首页" in page for page in chinese)  # the admin's own breadcrumbs, translated by Django
    assert all("Home" in page and "首页" not in page for page in english)
    assert "Export a courier's month" in english[0]
    assert "Import the courier's settlement sheet" in english[2]


# --- batch actions ----------------------------------------------------------------------------------------------------


def test_submitting_marks_the_selected_open_claims_sent_to_the_courier(client, shop, manager, sf):
    pending, settled = claim(shop, sf), claim(shop, sf, status="settled")
    client.force_login(manager)
    in_english(client)

    response = client.post(
        CLAIMS, {"action": "mark_submitted", "_selected_action": [pending.pk, settled.pk]}, follow=True
    )

    assert statuses(pending, settled) == ["submitted", "settled"]
    event = LogisticsEvent.objects.get(claim=pending)
    assert (event.action, event.from_state, event.to_state, event.actor) == ("submitted", "open", "submitted", manager)
    assert "1 of the 2 selected claims marked as submitted" in response.content.decode()


def test_reviewing_clears_the_review_note_with_an_event(client, shop, manager, sf):
    flagged = claim(shop, sf, review_note="包裹已恢复扫描")
    client.force_login(manager)

    client.post(CLAIMS, {"action": "mark_reviewed", "_selected_action": [flagged.pk]})

    assert CourierClaim.objects.get(pk=flagged.pk).review_note == ""
    assert LogisticsEvent.objects.get(claim=flagged).action == "reviewed"


def test_an_agent_sees_the_ledger_but_neither_the_sheet_pages_nor_the_actions(client, shop, agent, sf):
    pending = claim(shop, sf)
    client.force_login(agent)

    ledger = client.get(CLAIMS)
    submit = client.post(CLAIMS, {"action": "mark_submitted", "_selected_action": [pending.pk]})

    assert ledger.status_code == 200
    assert 'id="claims-export-link"' not in ledger.content.decode()
    assert ledger.context["action_form"] is None  # no action the agent may take
    assert client.get(EXPORT).status_code == 403
    assert client.get(IMPORT).status_code == 403
    assert client.post(IMPORT, {"courier": sf.pk, "month": "2026-11"}).status_code == 403
    assert submit.status_code in (200, 302)
    assert statuses(pending) == ["open"]


# --- the export page --------------------------------------------------------------------------------------------------


def test_the_export_page_downloads_the_couriers_month_of_the_users_shops(client, shop, manager, sf):
    mine = claim(shop, sf, loss="88.00")
    claim(ShopFactory(name="C店"), sf)
    claim(shop, sf, month=OCTOBER)
    client.force_login(manager)

    form = client.get(EXPORT, {"courier": sf.pk, "month": "2026-11"})
    response = client.post(EXPORT, {"courier": sf.pk, "month": "2026-11"})

    assert form.context["form"].initial == {"courier": sf.pk, "month": NOVEMBER}
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="claims-SF-2026-11.xlsx"'
    _sheet, rows = read_sheet(response.content)
    assert [row[0] for row in rows] == ["理赔编号", mine.reference, "合计"]
    assert rows[-1][1] == 1
    assert rows[-1][7] == 88


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"month": "2026-13"}, "month", "Enter a valid date."),
        ({"month": "十一月"}, "month", "Enter a valid date."),
        ({"courier": "abc"}, "courier", "Select a valid choice. That choice is not one of the available choices."),
        ({"month": "2026-12"}, "__all__", "顺丰速运 has no claims for 2026-12 in your shops."),
    ],
    ids=["month-13", "month-words", "courier-not-a-number", "no-claims"],
)
def test_the_export_page_shows_bad_input_as_a_form_error(client, shop, manager, sf, data, field, message):
    claim(shop, sf)
    client.force_login(manager)
    in_english(client)

    response = client.post(EXPORT, {"courier": sf.pk, "month": "2026-11", **data})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]


# --- the import page --------------------------------------------------------------------------------------------------


def returned_sheet(courier, user, answers, **kwargs) -> bytes:
    return answered(claims_to_xlsx(claims_for_sheet(courier=courier, month=NOVEMBER, user=user)), answers, **kwargs)


def test_the_import_page_applies_the_couriers_answers_and_shows_the_counts(client, shop, manager, sf):
    paid, refused, undecided = claim(shop, sf, loss="150.00"), claim(shop, sf, loss="59.90"), claim(shop, sf)
    content = returned_sheet(
        sf, manager, {paid.reference: ("赔付", 120, ""), refused.reference: ("拒赔", None, "已妥投")}
    )
    client.force_login(manager)

    response = client.post(IMPORT, {"courier": sf.pk, "month": "2026-11", "file": upload(content)})

    assert response.status_code == 200
    assert response.templates[0].name == "admin/logistics/claims_import_done.html"
    page = response.content.decode()
    assert '<td data-count="settled">1</td><td data-amount="settled">¥120.00</td>' in page
    assert '<td data-count="rejected">1</td><td data-amount="rejected">¥59.90</td>' in page
    assert '<td data-count="unanswered">1</td>' in page
    assert statuses(paid, refused, undecided) == ["settled", "rejected", "open"]
    assert LogisticsEvent.objects.filter(claim__in=[paid, refused]).count() == 2


def test_the_import_page_lists_the_wrong_rows_and_applies_nothing(client, shop, manager, sf):
    good, bad = claim(shop, sf, loss="100.00"), claim(shop, sf, loss="100.00")
    content = returned_sheet(sf, manager, {good.reference: ("赔付", 100, ""), bad.reference: ("赔付", 150, "")})
    client.force_login(manager)
    in_english(client)

    response = client.post(IMPORT, {"courier": sf.pk, "month": "2026-11", "file": upload(content)})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "1 row has an error; nothing was applied. Correct it and upload the sheet again."
    ]
    assert [(error.row_number, error.message) for error in response.context["row_errors"]] == [
        (3, "¥150.00 is more than the ¥100.00 claimed.")
    ]
    assert '<td class="row-number">3</td>' in response.content.decode()
    assert statuses(good, bad) == ["open", "open"]
    assert not LogisticsEvent.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xef\xbb\xbf\xe7\x90\x86\xe8\xb5\x94\xe7\xbc\x96\xe5\x8f\xb7,result\n", "The file is not an Excel workbook"),
        (b"PK\x03\x04 broken", "The file looks like an Excel workbook but cannot be opened."),
        (None, "No row has a result (快递结果); nothing to apply."),
    ],
    ids=["csv", "broken-zip", "nothing-answered"],
)
def test_the_import_page_refuses_an_unusable_file_on_the_form(client, shop, manager, sf, content, message):
    pending = claim(shop, sf)
    client.force_login(manager)
    in_english(client)
    content = content or returned_sheet(sf, manager, {})

    response = client.post(IMPORT, {"courier": sf.pk, "month": "2026-11", "file": upload(content)})

    assert response.status_code == 200
    assert response.context["form"].errors["file"][0].startswith(message)
    assert statuses(pending) == ["open"]


def test_the_import_page_refuses_a_file_too_large_to_read(client, shop, manager, sf, monkeypatch):
    monkeypatch.setattr("logistics.admin.claims.MAX_BYTES", 100)
    client.force_login(manager)
    in_english(client)

    response = client.post(IMPORT, {"courier": sf.pk, "month": "2026-11", "file": upload(b"PK\x03\x04" + b"0" * 200)})

    assert response.context["form"].errors["file"] == [
        "The file is 204\xa0bytes; at most 100\xa0bytes can be read at once."
    ]


def test_the_import_page_without_a_file_or_month_shows_form_errors(client, manager, sf):
    client.force_login(manager)

    response = client.post(IMPORT, {"courier": sf.pk, "month": ""})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"month", "file"}
