"""A pulled page's new requests are stored and opened in one batch (issue 19 point 8: a 双11 morning), by the rules of
the one-by-one path: idempotent by platform id and version, every ticket with its events, the cursor moved only once
the window is stored."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.models import AfterSalesTicket, TicketEvent
from marketplaces.adapters.base import AfterSaleRecord, RecordKind, RecordStatus
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import PULL_LAG, connection_sync, records_apply
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db


def new_request(connection, number: int, **changes) -> AfterSaleRecord:
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    now = timezone.now()
    record = AfterSaleRecord(
        platform_id=f"RF{number:06d}",
        order_id=order.platform_order_id,
        kind=RecordKind.RETURN_REFUND,
        status=RecordStatus.WAITING_SELLER,
        version="1",
        modified_at=now - timedelta(minutes=1),
        applied_at=now - timedelta(minutes=1),
        amount=Decimal("59.00"),
        reason="质量问题",
        platform_kind="REFUND_AND_RETURN",
        platform_status="WAIT_SELLER_AGREE",
        deadline=now + timedelta(hours=48),
    )
    return replace(record, **changes)


def queries_to_apply(connection, records) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        outcomes = records_apply(connection=connection, records=records)
    assert outcomes == ["opened"] * len(records)
    return len(queries)


def test_a_page_of_100_new_requests_costs_the_queries_of_a_page_of_10(connection):
    queries_to_apply(connection, [new_request(connection, 1)])  # the system user and the reason, read once
    ten = [new_request(connection, number) for number in range(100, 110)]
    hundred = [new_request(connection, number) for number in range(200, 300)]

    assert queries_to_apply(connection, ten) == queries_to_apply(connection, hundred)
    assert AfterSalesTicket.objects.filter(shop=connection.shop).count() == 111
    assert PlatformRecord.objects.filter(connection=connection, ticket__isnull=False).count() == 111


def test_a_replay_an_older_version_and_a_duplicate_in_the_page_change_nothing_extra(connection):
    first, stored = new_request(connection, 1), new_request(connection, 2)
    assert records_apply(connection=connection, records=[first, stored]) == ["opened", "opened"]
    events = list(TicketEvent.objects.filter(ticket__shop=connection.shop).values_list("pk", flat=True))
    older = replace(
        stored, version="0", modified_at=stored.modified_at - timedelta(minutes=5), status=RecordStatus.CLOSED
    )
    second, third = new_request(connection, 3), new_request(connection, 4)

    outcomes = records_apply(connection=connection, records=[first, second, older, third, third])

    assert outcomes == ["unchanged", "opened", "stale", "opened", "unchanged"]
    assert AfterSalesTicket.objects.filter(shop=connection.shop).count() == 4
    assert PlatformRecord.objects.filter(connection=connection).count() == 4
    assert PlatformRecord.objects.get(platform_id=stored.platform_id).status == "waiting_seller"
    old_tickets = AfterSalesTicket.objects.filter(platform_ticket_id__in=[first.platform_id, stored.platform_id])
    assert list(TicketEvent.objects.filter(ticket__in=old_tickets).values_list("pk", flat=True)) == events
    opened = TicketEvent.objects.filter(ticket__shop=connection.shop, action="opened")
    assert sorted(opened.values_list("ticket__platform_ticket_id", flat=True)) == [
        "RF000001",
        "RF000002",
        "RF000003",
        "RF000004",
    ]


def test_every_ticket_of_a_batch_gets_the_events_one_by_one_opening_writes(connection):
    angry = new_request(connection, 1, buyer_message="再不退款我就打12315投诉")
    unknown = new_request(connection, 2, kind=RecordKind.UNKNOWN, platform_kind="OTHERS")
    refund_only = new_request(connection, 3, kind=RecordKind.REFUND_ONLY, platform_kind="REFUND")
    calm = new_request(connection, 4)
    batch = [angry, unknown, refund_only, calm]
    one_by_one = [
        new_request(connection, 10 + n, buyer_message=r.buyer_message, kind=r.kind, platform_kind=r.platform_kind)
        for n, r in enumerate(batch)
    ]

    assert records_apply(connection=connection, records=batch) == ["opened"] * 4
    for record in one_by_one:  # alone in its page: the page is not a batch of new requests
        assert records_apply(connection=connection, records=[record, record]) == ["opened", "unchanged"]

    def actions(record):
        ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.platform_id)
        return list(ticket.events.order_by("at", "id").values_list("action", "from_state", "to_state"))

    for batched, alone in zip(batch, one_by_one, strict=True):
        assert actions(batched) == actions(alone)
    assert [action for action, *_rest in actions(angry)] == ["opened", "team_lead_alerted"]
    assert [action for action, *_rest in actions(unknown)] == ["opened", "flagged"]
    assert [action for action, *_rest in actions(refund_only)] == ["opened", "return_proposed"]
    assert [action for action, *_rest in actions(calm)] == ["opened"]


def test_the_cursor_does_not_advance_when_storing_a_page_fails_midway(connection, taobao, monkeypatch):
    orders = [delivered_order(shop=connection.shop) for _ in range(250)]
    for order in orders:
        taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="1.00", push=False)
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(minutes=5))
    before = ShopConnection.objects.get(pk=connection.pk).cursor
    manager = PlatformRecord.objects
    real_bulk_create = manager.bulk_create
    pages = []

    def fail_on_page_two(rows, *args, **kwargs):
        pages.append(len(rows))
        if len(pages) == 2:
            raise DatabaseError("the database went away")
        return real_bulk_create(rows, *args, **kwargs)

    monkeypatch.setattr(manager, "bulk_create", fail_on_page_two)
    with pytest.raises(DatabaseError):
        connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=1))

    assert ShopConnection.objects.get(pk=connection.pk).cursor == before
    # Page one stands; page two's tickets went with its records: none without its record.
    assert PlatformRecord.objects.filter(connection=connection).count() == 100
    assert AfterSalesTicket.objects.filter(shop=connection.shop).count() == 100
    monkeypatch.setattr(manager, "bulk_create", real_bulk_create)

    summary = connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=1))

    assert summary.outcomes == {"unchanged": 100, "opened": 150}
    assert ShopConnection.objects.get(pk=connection.pk).cursor > before
    assert AfterSalesTicket.objects.filter(shop=connection.shop).count() == 250
    assert TicketEvent.objects.filter(ticket__shop=connection.shop, action="opened").count() == 250
