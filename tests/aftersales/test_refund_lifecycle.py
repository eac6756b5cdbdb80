"""Issue 17 point 2: a refund tells the truth. pending → sent → succeeded | failed; the ticket is refunded only on the
marketplace's confirmation; no gateway call under row locks; the batch-refund file is a recorded batch, its result
file (or a supervisor's word) confirms it; refunds left unconfirmed show where a manager looks."""

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from aftersales import roles
from aftersales.models import AfterSalesTicket, Refund, RefundBatch, TicketEvent, TicketState
from aftersales.selectors import unconfirmed_refunds
from aftersales.services import (
    refund_batch_confirm,
    refund_batch_create,
    refund_batch_results_import,
    refund_execute,
)
from desk.errors import ActionRefused
from tests.factories import OrderFactory, ShopFactory, confirm_refund, make_staff, open_ticket

S = TicketState


def waiting_refund(shop, amount="30.00", **order):
    """A path-1 refund of `shop` made by the automatic rule and sent through the batch-file gateway: it waits for
    the shop's next batch file."""
    refund = open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("99.00"), **order), requested_amount=amount)
    refund = refund_execute(refund_id=refund.refunds.get().pk)
    assert (refund.status, refund.gateway) == (Refund.Status.PENDING, "batch_file")
    return refund


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def result_csv(*rows, header=("网关流水号", "退款结果", "失败原因")) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


# --- no gateway call while rows are locked --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_gateway_is_called_while_another_connection_can_lock_the_ticket_and_the_refund(
    stub_gateway, reference_data
):
    shop = ShopFactory(auto_refund_enabled=False)
    agent = make_staff("agent", role=roles.AGENT, shops=[shop])
    from aftersales.services import ticket_approve_refund
    from tests.factories import delivered_order, grant_authority

    grant_authority(agent, shop, "100.00")
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("99.00")), requested_amount="50.00")
    refund = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00").refund
    seen = []

    def try_locks(refund):
        def other_connection():
            try:
                with connection.cursor() as cursor:
                    cursor.execute("BEGIN")
                    cursor.execute(
                        "SELECT id FROM aftersales_aftersalesticket WHERE id = %s FOR UPDATE NOWAIT", [ticket.pk]
                    )
                    cursor.execute("SELECT id FROM aftersales_refund WHERE id = %s FOR UPDATE NOWAIT", [refund.pk])
                    cursor.execute("ROLLBACK")
                seen.append("free")
            except Exception as error:  # a lock held by the caller: "could not obtain lock"
                seen.append(repr(error))
            finally:
                connections.close_all()

        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(timeout=30)

    stub_gateway.during_send = try_locks

    sent = refund_execute(refund_id=refund.pk)

    assert seen == ["free"]
    assert sent.status == Refund.Status.SENT
    assert stub_gateway.sends == {refund.pk: 1}


# --- the states -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refund_sent_through_an_api_waits_for_the_confirmation_before_the_ticket_is_refunded(stub_gateway):
    from aftersales.gateways import StatusOutcome
    from aftersales.services import refund_settle

    refund = open_ticket(OrderFactory(paid_amount=Decimal("99.00")), requested_amount="20.00").refunds.get()

    sent = refund_execute(refund_id=refund.pk)

    assert (sent.status, sent.gateway_reference, sent.send_started_at) == ("sent", f"MP-{refund.pk}", None)
    assert sent.sent_at is not None
    assert sent.confirmed_at is None
    assert reload(refund.ticket).state == S.REFUNDING
    stub_gateway.status_answers = {refund.pk: StatusOutcome.SENT}
    assert refund_settle(refund_id=refund.pk).status == "sent"
    stub_gateway.status_answers = {refund.pk: StatusOutcome.CONFIRMED}

    confirmed = refund_settle(refund_id=refund.pk)

    assert confirmed.status == "succeeded"
    ticket = reload(refund.ticket)
    assert (ticket.state, ticket.closed_at) == (S.REFUNDED, confirmed.confirmed_at)
    assert list(ticket.events.filter(action__startswith="refund_").values_list("action", flat=True)) == [
        "refund_sent",
        "refund_succeeded",
    ]
    assert stub_gateway.sends == {refund.pk: 1}


@pytest.mark.django_db
def test_a_definite_refusal_after_sending_fails_the_refund_and_returns_the_ticket(stub_gateway):
    from aftersales.gateways import StatusOutcome
    from aftersales.services import refund_settle

    refund = open_ticket(OrderFactory(paid_amount=Decimal("99.00")), requested_amount="20.00").refunds.get()
    refund_execute(refund_id=refund.pk)
    stub_gateway.status_answers = {refund.pk: StatusOutcome.FAILED}

    failed = refund_settle(refund_id=refund.pk)

    assert (failed.status, failed.failure_reason) == ("failed", "退款关闭")
    assert reload(refund.ticket).state == S.REQUESTED
    assert reload(refund.order).refunded_amount == 0


# --- the batch-refund file ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_making_the_batch_file_records_a_batch_of_every_waiting_refund_of_the_shop_and_sends_them():
    shop, other = ShopFactory(), ShopFactory()
    first, second = waiting_refund(shop, "19.90"), waiting_refund(shop, "30.00")
    foreign = waiting_refund(other)
    never_sent = open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("9.00")), requested_amount="9.00")
    agent = make_staff("agent", role=roles.AGENT, shops=[shop])

    batch = refund_batch_create(shop=shop, by=agent)

    assert (batch.shop, batch.number, batch.created_by, batch.refund_count) == (shop, 1, agent, 2)
    assert batch.total == Decimal("49.90")
    assert set(batch.refunds.values_list("pk", flat=True)) == {first.pk, second.pk}
    for refund in (reload(first), reload(second)):
        assert (refund.status, refund.sent_at, refund.batch_id) == ("sent", batch.created_at, batch.pk)
        assert TicketEvent.objects.filter(ticket_id=refund.ticket_id, action="refund_sent", actor=agent).count() == 1
        assert reload(refund.ticket).state == S.REFUNDING
    assert reload(foreign).status == "pending"
    assert never_sent.refunds.get().batch_id is None
    rows = list(load_workbook(io.BytesIO(bytes(batch.content))).active.iter_rows(min_row=2, values_only=True))
    assert [(row[2], row[6]) for row in rows] == [
        (19.9, reload(first).gateway_reference),
        (30, reload(second).gateway_reference),
    ]
    # Nothing is waiting any more: no empty second batch.
    assert refund_batch_create(shop=shop, by=agent) is None
    third = waiting_refund(shop, "5.00")
    assert refund_batch_create(shop=shop, by=agent).number == 2
    assert reload(third).batch.number == 2


@pytest.mark.django_db
def test_downloading_a_batch_again_gives_the_same_file_and_records_nothing(client):
    shop = ShopFactory()
    waiting_refund(shop)
    agent = make_staff("agent", role=roles.AGENT, shops=[shop])
    client.force_login(agent)
    made = client.post(
        reverse("admin:aftersales_refund_changelist"),
        {"action": "download_batch_file", "_selected_action": list(Refund.objects.values_list("pk", flat=True))},
    )
    assert made.status_code == 200
    batch = RefundBatch.objects.get()
    events = TicketEvent.objects.count()

    again = client.get(reverse("admin:aftersales_refundbatch_download", args=[batch.pk]))

    assert again.status_code == 200
    assert again.content == made.content == bytes(batch.content)
    assert again["Content-Disposition"] == made["Content-Disposition"]
    assert (RefundBatch.objects.count(), TicketEvent.objects.count()) == (1, events)
    # The refund list names the refund's batch; the batch page offers the file, the result import and the refunds.
    page = client.get(reverse("admin:aftersales_refundbatch_change", args=[batch.pk]))
    assert reverse("admin:aftersales_refundbatch_results", args=[batch.pk]) in page.content.decode()


@pytest.mark.django_db
def test_a_batch_of_another_shop_cannot_be_downloaded(client):
    shop, other = ShopFactory(), ShopFactory()
    waiting_refund(other)
    batch = refund_batch_create(shop=other, by=make_staff("b", role=roles.AGENT, shops=[other]))
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))

    assert client.get(reverse("admin:aftersales_refundbatch_download", args=[batch.pk])).status_code == 404
    with pytest.raises(ActionRefused):
        refund_batch_create(shop=other, by=make_staff("c", role=roles.AGENT, shops=[shop]))


@pytest.mark.django_db(transaction=True)
def test_two_people_making_the_batch_file_at_once_never_put_a_refund_in_two_batches(reference_data):
    shop = ShopFactory()
    refunds = [waiting_refund(shop, "3.00") for _ in range(30)]
    people = [make_staff(f"agent-{n}", role=roles.AGENT, shops=[shop]) for n in range(4)]
    barrier = threading.Barrier(len(people))
    made, errors = [], []

    def download(person):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            made.append(refund_batch_create(shop=shop, by=person))
        except Exception as error:  # reported to the test
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=download, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    batches = [batch for batch in made if batch is not None]
    assert sum(batch.refund_count for batch in batches) == len(refunds)
    assert Refund.objects.filter(batch__isnull=True).count() == 0
    assert sorted(batch.number for batch in batches) == list(range(1, len(batches) + 1))
    assert TicketEvent.objects.filter(action="refund_sent").count() == len(refunds)


# --- the result file ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_result_file_confirms_and_fails_its_refunds_and_reports_rows_that_match_nothing():
    shop = ShopFactory()
    good, bad, unsent = waiting_refund(shop), waiting_refund(shop), None
    batch = refund_batch_create(shop=shop, by=make_staff("agent", role=roles.AGENT, shops=[shop]))
    good, bad = reload(good), reload(bad)
    unsent = waiting_refund(shop)  # after the batch: still waiting for the next one
    foreign = waiting_refund(ShopFactory())
    content = result_csv(
        (good.gateway_reference, "成功", ""),
        (bad.gateway_reference, "失败", "买家账户异常"),
        ("B999-00001-1", "成功", ""),
        (f"B{shop.pk}-00001-{unsent.pk}", "成功", ""),
        (foreign.gateway_reference or "X", "成功", ""),
        (good.gateway_reference, "成功", ""),  # a second row for a refund already confirmed above
    )
    supervisor = make_staff("sup", role=roles.SUPERVISOR, shops=[shop])

    report = refund_batch_results_import(shop=shop, content=content, by=supervisor)

    assert (report.confirmed, report.failed) == (1, 1)
    assert [row for row, _ref, _why in report.problems] == [4, 5, 6, 7]
    good, bad = reload(good), reload(bad)
    assert good.status == "succeeded"
    assert good.confirmed_at is not None
    assert reload(good.ticket).state == S.REFUNDED
    assert (bad.status, bad.failure_reason) == ("failed", "买家账户异常")
    assert reload(bad.ticket).state == S.REQUESTED
    assert reload(unsent).status == "pending"
    assert reload(foreign).status == "pending"
    assert TicketEvent.objects.get(ticket=good.ticket, action="refund_succeeded").actor == supervisor
    assert batch.refunds.count() == 2


@pytest.mark.django_db
def test_the_result_file_is_read_by_its_english_headers_in_xlsx_too():
    shop = ShopFactory()
    refund = waiting_refund(shop)
    refund_batch_create(shop=shop, by=make_staff("agent", role=roles.AGENT, shops=[shop]))
    workbook = Workbook()
    workbook.active.append(["Order", "Failure reason", "Result", "Refund reference"])
    workbook.active.append(["x", "", "success", reload(refund).gateway_reference])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = refund_batch_results_import(shop=shop, content=buffer.getvalue(), by=refund.requested_by)

    assert (report.confirmed, report.problems) == (1, [])
    assert reload(refund).status == "succeeded"


@pytest.mark.django_db
def test_a_result_file_without_the_needed_columns_or_unreadable_changes_nothing():
    shop = ShopFactory()
    refund = waiting_refund(shop)
    refund_batch_create(shop=shop, by=refund.requested_by)
    for content in (result_csv(("x", "y"), header=("订单编号", "备注")), b"\x00\xff"):
        with pytest.raises(ActionRefused):
            refund_batch_results_import(shop=shop, content=content, by=refund.requested_by)
    assert reload(refund).status == "sent"


@pytest.mark.django_db
def test_the_result_page_imports_a_file_and_lists_what_matched_nothing(client):
    shop = ShopFactory()
    refund = waiting_refund(shop)
    batch = refund_batch_create(shop=shop, by=refund.requested_by)
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))
    upload = io.BytesIO(result_csv((reload(refund).gateway_reference, "成功", ""), ("NOPE", "成功", "")))
    upload.name = "result.csv"

    response = client.post(reverse("admin:aftersales_refundbatch_results", args=[batch.pk]), {"file": upload})

    assert response.status_code == 200
    assert "NOPE" in response.content.decode()
    assert reload(refund).status == "succeeded"


# --- a supervisor's confirmation ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_supervisor_confirms_a_whole_batch_by_hand_with_a_note_and_an_agent_cannot():
    shop = ShopFactory()
    refunds = [waiting_refund(shop), waiting_refund(shop)]
    agent = make_staff("agent", role=roles.AGENT, shops=[shop])
    supervisor = make_staff("sup", role=roles.SUPERVISOR, shops=[shop])
    batch = refund_batch_create(shop=shop, by=agent)
    with pytest.raises(ActionRefused):
        refund_batch_confirm(batch=batch, by=agent, note="平台已到账")
    with pytest.raises(ActionRefused):
        refund_batch_confirm(batch=batch, by=supervisor, note="  ")
    assert set(Refund.objects.values_list("status", flat=True)) == {"sent"}

    assert refund_batch_confirm(batch=batch, by=supervisor, note="结果文件丢失，平台后台已核对") == 2

    batch = reload(batch)
    assert (batch.confirmed_by, batch.confirmation_note) == (supervisor, "结果文件丢失，平台后台已核对")
    for refund in refunds:
        assert reload(refund).status == "succeeded"
        event = TicketEvent.objects.get(ticket_id=refund.ticket_id, action="refund_succeeded")
        assert (event.actor, reload(refund.ticket).state) == (supervisor, S.REFUNDED)
        assert "结果文件丢失" in event.note
    with pytest.raises(ActionRefused):
        refund_batch_confirm(batch=batch, by=supervisor, note="again")


# --- unconfirmed refunds --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refunds_sent_and_unconfirmed_past_the_shops_hours_are_listed_and_filtered(client):
    patient, hasty = ShopFactory(unconfirmed_refund_hours=48), ShopFactory(unconfirmed_refund_hours=2)
    slow, fresh = waiting_refund(patient), waiting_refund(hasty)
    late = waiting_refund(hasty)
    for shop in (patient, hasty):
        refund_batch_create(shop=shop, by=slow.requested_by)
    Refund.objects.filter(pk__in=[slow.pk, late.pk]).update(sent_at=timezone.now() - timedelta(hours=30))
    Refund.objects.filter(pk=fresh.pk).update(sent_at=timezone.now() - timedelta(hours=1))

    assert list(unconfirmed_refunds([patient, hasty])) == [reload(late)]
    admin = make_staff("sup", role=roles.SUPERVISOR, shops=[patient, hasty])
    client.force_login(admin)
    page = client.get(reverse("admin:aftersales_refund_changelist"), {"unconfirmed": "overdue"})
    assert [refund.pk for refund in page.context["cl"].result_list] == [late.pk]
    confirm_refund(late)
    assert list(unconfirmed_refunds([patient, hasty])) == []


@pytest.mark.django_db
def test_the_status_of_a_sent_refund_reads_sent_awaiting_the_marketplace():
    shop = ShopFactory()
    refund = waiting_refund(shop)
    refund_batch_create(shop=shop, by=refund.requested_by)
    with translation.override("zh-hans"):
        assert reload(refund).get_status_display() == "已提交，等待平台确认"
    with translation.override("en"):
        assert reload(refund).get_status_display() == "sent, awaiting the marketplace"


@pytest.mark.django_db
def test_the_ticket_page_says_the_refund_is_sent_and_awaits_the_marketplace(client):
    shop = ShopFactory()
    refund = waiting_refund(shop)
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))
    url = reverse("admin:aftersales_aftersalesticket_change", args=[refund.ticket_id])

    waiting = client.get(url).content.decode()
    refund_batch_create(shop=shop, by=refund.requested_by)
    sent = client.get(url).content.decode()

    assert "待处理：等待本店下一个批量退款文件" in waiting
    assert "已提交，等待平台确认" in sent
    assert "已提交，等待平台确认" not in waiting
    assert AfterSalesTicket.objects.get(pk=refund.ticket_id).state == S.REFUNDING


def _one_unconfirmed_and_one_in_time(shop):
    late, in_time = waiting_refund(shop), waiting_refund(shop)
    refund_batch_create(shop=shop, by=late.requested_by)
    Refund.objects.filter(pk=late.pk).update(
        sent_at=timezone.now() - timedelta(hours=shop.unconfirmed_refund_hours + 1)
    )
    return late, in_time


@pytest.mark.django_db
def test_the_daily_clearance_lists_refunds_unconfirmed_past_the_shops_hours_with_a_link_to_the_list(client):
    shop = ShopFactory(unconfirmed_refund_hours=12)
    late, _in_time = _one_unconfirmed_and_one_in_time(shop)
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))

    html = client.get(reverse("warehouse:clearance")).content.decode()

    assert 'id="count-refunds-unconfirmed">1<' in html
    assert f"#{late.ticket_id}</a>" in html
    assert reverse("admin:aftersales_refund_changelist") + "?unconfirmed=overdue" in html


@pytest.mark.django_db
def test_the_dashboard_counts_refunds_unconfirmed_past_the_shops_hours_with_a_link_to_the_list(client):
    shop = ShopFactory(unconfirmed_refund_hours=6)
    _one_unconfirmed_and_one_in_time(shop)
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))

    response = client.get(reverse("metrics:dashboard"), {"shop": shop.pk})

    assert response.context["summary"]["refunds_unconfirmed"] == 1
    assert reverse("admin:aftersales_refund_changelist") + "?unconfirmed=overdue" in response.content.decode()


@pytest.mark.django_db
def test_the_batch_confirmation_page_needs_a_note_and_a_supervisor(client):
    shop = ShopFactory()
    refund = waiting_refund(shop)
    batch = refund_batch_create(shop=shop, by=refund.requested_by)
    url = reverse("admin:aftersales_refundbatch_confirm", args=[batch.pk])
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[shop]))
    refused = client.post(url, {"note": "平台后台已核对"})
    assert refused.status_code == 200
    assert reload(refund).status == "sent"
    client.force_login(make_staff("sup", role=roles.SUPERVISOR, shops=[shop]))

    empty = client.post(url, {"note": ""})
    done = client.post(url, {"note": "平台后台已核对"})

    assert empty.status_code == 200
    assert empty.context["form"].errors
    assert done.status_code == 302
    assert reload(refund).status == "succeeded"
    assert reload(batch).confirmation_note == "平台后台已核对"
