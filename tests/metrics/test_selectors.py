"""Merchant time per path week by week (average and p90) and the per-agent table, on hand-built tickets."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.definitions import Scope
from metrics.selectors import agent_table, first_decisions, path_timeliness
from tests.factories import make_staff
from tests.metrics.test_definitions import END, START, at, order, paid_refund, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    from tests.factories import ShopFactory

    return ShopFactory()


def scope(shop):
    return Scope((shop.pk,), START, END)


def decided(shop, agent, *, path: int, opened, hours: float, action="refund_approved", **fields):
    return ticket(shop, opened=opened, path=path, events=[(action, opened + timedelta(hours=hours), agent)], **fields)


def test_average_and_p90_per_path_and_week(shop):
    """Week of Mon 2 Nov, path 3: ten tickets of 1..10 h → average 5.50 h, p90 = the 9th smallest (⌈0.9·10⌉) = 9 h.
    Same week, path 2: 4 h alone → 4 and 4. Week of 9 Nov, path 3: 2 h and 6 h → 4.00, p90 = 2nd (⌈1.8⌉) = 6 h."""
    agent = make_staff("agent", role="Agent", shops=[shop])
    for hours in range(1, 11):
        decided(shop, agent, path=3, opened=at(3, 8), hours=hours)
    decided(shop, agent, path=2, opened=at(4, 8), hours=4)
    decided(shop, agent, path=3, opened=at(10, 8), hours=2)
    decided(shop, agent, path=3, opened=at(11, 8), hours=6)

    rows = path_timeliness(scope(shop))

    assert [(r.week, r.path, r.tickets, r.average_hours, r.p90_hours) for r in rows] == [
        (date(2026, 11, 2), 2, 1, Decimal("4.00"), Decimal("4.00")),
        (date(2026, 11, 2), 3, 10, Decimal("5.50"), Decimal("9.00")),
        (date(2026, 11, 9), 3, 2, Decimal("4.00"), Decimal("6.00")),
    ]


def test_path_timeliness_costs_four_queries_whatever_the_number_of_weeks(shop):
    """How far the rollups go, the rolled-up days' lists of times, the rolled-up decisions of the window's partial
    days and the live decisions as rows."""
    agent = make_staff("agent", role="Agent", shops=[shop])
    for day in range(2, 29, 3):
        decided(shop, agent, path=3, opened=at(day, 8), hours=day)
    path_timeliness(scope(shop))  # the system user is fetched once and cached

    with CaptureQueriesContext(connection) as queries:
        rows = path_timeliness(scope(shop))

    assert len(rows) == 4
    assert len(queries) == 4


def test_the_agent_table(shop):
    """李雷 decides two tickets first (2 h and 4 h → 3.00 h), rejects one of them, and pays a ¥30 compensation;
    the buyer of one orders ¥88 more afterwards. 韩梅 decides one ticket in 1 h. The system's automatic refund is
    nobody's. A second decision on an already decided ticket does not count it twice."""
    lei = make_staff("lilei", role="Agent", shops=[shop])
    mei = make_staff("hanmei", role="Agent", shops=[shop])
    first = decided(
        shop, lei, path=3, opened=at(3, 8), hours=2, action="rejected", of=order(shop, paid=at(1), buyer="甲")
    )
    second = decided(shop, lei, path=3, opened=at(4, 8), hours=4, kind="compensation")
    decided(shop, mei, path=3, opened=at(5, 8), hours=1)
    ticket(shop, opened=at(6, 8), path=1, events=[("auto_refund", at(6, 8, 1))])
    from aftersales.models import TicketEvent

    TicketEvent.objects.create(ticket=first, actor=mei, action="refund_approved", at=at(7, 9))
    comp = paid_refund(second, executed=at(4, 13), amount="30.00", kind="compensation")
    comp.requested_by = lei
    comp.save()
    order(shop, paid=at(20), buyer="甲", amount="88.00")

    rows = agent_table(scope(shop))

    assert [
        (r.username, r.handled, r.average_hours, r.rejections, r.compensation, r.compensation_per_case) for r in rows
    ] == [
        ("lilei", 2, Decimal("3.00"), 1, Decimal("30.00"), Decimal("15.00")),
        ("hanmei", 1, Decimal("1.00"), 0, Decimal("0.00"), Decimal("0.00")),
    ]
    assert [(r.username, r.repurchases, r.sales_after) for r in rows] == [
        ("lilei", 1, Decimal("88.00")),
        ("hanmei", 0, Decimal("0.00")),
    ]


def busy_month(shop):
    """Decisions on most days of November on three paths by two agents (one rejection, a second decision that does
    not count, the system's automatic refund), and buyers who order again before and after the rollups end."""
    lei = make_staff("lilei", role="Agent", shops=[shop])
    mei = make_staff("hanmei", role="Agent", shops=[shop])
    for day in range(1, 29):
        for n, (agent, path) in enumerate([(lei, 3), (mei, 2), (lei, 4)]):
            buyer = f"买家{(day + n) % 5}"
            action = "rejected" if (day + n) % 7 == 0 else "refund_approved"
            first = decided(
                shop,
                agent,
                path=path,
                opened=at(day, 8 + n),
                hours=1 + (day * 7 + n * 5) % 23,
                action=action,
                of=order(shop, paid=at(day, 1), buyer=buyer, amount=f"{10 + day}.00"),
            )
            if day % 9 == 0:
                from aftersales.models import TicketEvent

                TicketEvent.objects.create(ticket=first, actor=mei, action="return_agreed", at=at(day, 23))
        order(shop, paid=at(day, 23, 30), buyer=f"买家{day % 5}", amount="7.50")
    ticket(shop, opened=at(6, 8), path=1, events=[("auto_refund", at(6, 8, 1))])


def as_table(rows):
    return [tuple(vars(row).values()) for row in rows]


@pytest.mark.parametrize("rolled_days", [0, 1, 10, 20, 30])
def test_rolled_up_decisions_give_the_live_figures_with_the_days_after_them_live(shop, rolled_days):
    """Whatever part of November is rolled up (none, a day, most of it, all of it), the per-path weeks and the agent
    table equal the live computation over the events; the days after the rollups (today's decisions) are read live."""
    from metrics.rollups import decisions_refresh
    from metrics.selectors import decisions_rolled_until

    busy_month(shop)
    live_weeks, live_agents = path_timeliness(scope(shop)), agent_table(scope(shop))
    assert decisions_rolled_until(scope(shop)) == START

    if rolled_days:
        # Run early the next morning, as the nightly task does: later orders counted until that midnight.
        decisions_refresh(
            shop_ids=[shop.pk],
            since=START.date(),
            until=date(2026, 11, rolled_days),
            now=START + timedelta(days=rolled_days, hours=2),
        )

    assert decisions_rolled_until(scope(shop)) == min(START + timedelta(days=rolled_days), END)
    assert as_table(path_timeliness(scope(shop))) == as_table(live_weeks)
    assert as_table(agent_table(scope(shop))) == as_table(live_agents)
    assert sum(row.handled for row in live_agents) == 28 * 3
    assert sum(row.repurchases for row in live_agents) > 0


def test_a_window_starting_inside_a_rolled_up_day_reads_only_its_part(shop):
    """The trend's window starts at the current time of day, not at midnight: the rolled-up rows of its first day
    before that moment are left out, as the live query leaves them out."""
    from metrics.rollups import decisions_refresh

    busy_month(shop)
    window = Scope((shop.pk,), at(5, 9, 30), at(25, 17, 45))
    live_weeks, live_agents = path_timeliness(window), agent_table(window)

    decisions_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 20))

    assert as_table(path_timeliness(window)) == as_table(live_weeks)
    assert as_table(agent_table(window)) == as_table(live_agents)


def test_the_rollup_records_each_tickets_first_decision_once_and_replaces_a_day_again(shop):
    """Both the full rollup and the decisions alone record the live first decisions of the days, once each."""
    from metrics.models import TicketDecision
    from metrics.rollups import decisions_refresh, rollups_refresh

    busy_month(shop)
    rollups_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 3))
    decisions_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 3))

    live = first_decisions(Scope((shop.pk,), START, at(4, 0))).values_list("ticket_id", "at")
    assert sorted(TicketDecision.objects.values_list("ticket_id", "decided_at")) == sorted(live)
    decisions_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 3))
    assert sorted(TicketDecision.objects.values_list("ticket_id", "decided_at")) == sorted(live)


def test_later_orders_counted_at_any_time_give_the_live_repurchases(shop):
    """The later orders of rolled-up decisions counted at any moment (before some of them were paid, or after all),
    plus those paid since, are the live count."""
    from metrics.rollups import decisions_refresh, later_orders_refresh

    busy_month(shop)
    live = as_table(agent_table(scope(shop)))
    decisions_refresh(shop_ids=[shop.pk], since=START.date(), until=date(2026, 11, 30), now=at(10, 12))
    assert as_table(agent_table(scope(shop))) == live

    later_orders_refresh(shop_ids=[shop.pk], since=at(12, 0), now=at(20, 3))
    assert as_table(agent_table(scope(shop))) == live
    later_orders_refresh(shop_ids=[shop.pk], since=START, now=END + timedelta(days=5))
    assert as_table(agent_table(scope(shop))) == live


def test_the_rollup_command_can_record_only_the_decisions(shop):
    from django.core.management import call_command

    from metrics.models import DailyMetric, TicketDecision

    busy_month(shop)
    call_command("metrics_rollup", "--since", "2026-11-01", "--until", "2026-11-02", "--decisions-only")

    assert (
        TicketDecision.objects.filter(shop=shop).count() == first_decisions(Scope((shop.pk,), START, at(3, 0))).count()
    )
    assert set(DailyMetric.objects.values_list("code", flat=True)) == {"first_decisions"}


def test_the_rolled_up_weeks_are_read_as_lists_of_times_not_sorted_by_the_database(shop):
    """At a year of data, numbering twelve weeks of decisions in the database (window functions over TicketDecision)
    on every load was most of the dashboard's time; the whole rolled-up days are read as their lists of times
    (DecisionTimes) and the figures stay the live ones."""
    from metrics.rollups import decisions_refresh

    busy_month(shop)
    live_weeks = as_table(path_timeliness(scope(shop)))
    decisions_refresh(shop_ids=[shop.pk], since=START.date(), until=date(2026, 11, 30))

    with CaptureQueriesContext(connection) as queries:
        assert as_table(path_timeliness(scope(shop))) == live_weeks

    sql = [query["sql"] for query in queries]
    assert any('"metrics_decisiontimes"' in text for text in sql)
    assert not any(" OVER (" in text for text in sql)


def test_a_decision_that_moves_to_an_earlier_day_leaves_the_later_days_times(shop):
    """A ticket first decided on the 10th gets an earlier decision on the 9th, recorded late: rolling up the 9th
    moves its decision there, and the 10th's list of times no longer holds it (its week would count it twice)."""
    from aftersales.models import TicketEvent
    from metrics.models import DecisionTimes
    from metrics.rollups import decisions_refresh

    agent = make_staff("agent", role="Agent", shops=[shop])
    moving = decided(shop, agent, path=3, opened=at(8, 8), hours=49)  # decided on the 10th at 09:00
    decided(shop, agent, path=3, opened=at(10, 8), hours=3)
    decisions_refresh(shop_ids=[shop.pk], since=START.date(), until=date(2026, 11, 30))
    assert DecisionTimes.objects.get(day=date(2026, 11, 10)).microseconds == [3 * 3600 * 10**6, 49 * 3600 * 10**6]

    TicketEvent.objects.create(ticket=moving, actor=agent, action="refund_approved", at=at(9, 9))
    decisions_refresh(shop_ids=[shop.pk], since=date(2026, 11, 9), until=date(2026, 11, 9))

    assert DecisionTimes.objects.get(day=date(2026, 11, 10)).microseconds == [3 * 3600 * 10**6]
    assert DecisionTimes.objects.get(day=date(2026, 11, 9)).microseconds == [25 * 3600 * 10**6]
    rows = path_timeliness(scope(shop))
    assert [(row.week, row.tickets, row.average_hours) for row in rows] == [(date(2026, 11, 9), 2, Decimal("14.00"))]


def test_the_compensation_refunds_are_read_without_the_ticket_table(shop):
    """The per-agent compensation: the compensation refunds come from their own index (refund_paid_kind_idx) alone;
    only the partial refunds, which count when their ticket kept its goods, are joined to their tickets. Read with
    the tickets together, PostgreSQL hashed every ticket of the table for a month of refunds."""
    lei = make_staff("lilei", role="Agent", shops=[shop])
    kept = decided(shop, lei, path=3, opened=at(4, 8), hours=4)
    returned = decided(shop, lei, path=4, opened=at(5, 8), hours=2, kind="return_refund")
    for refund in [
        paid_refund(kept, executed=at(4, 13), amount="30.00", kind="compensation"),
        paid_refund(kept, executed=at(4, 14), amount="12.50", kind="partial"),
        paid_refund(returned, executed=at(5, 14), amount="99.00", kind="partial"),  # goods returned: not compensation
    ]:
        refund.requested_by = lei
        refund.save()
    agent_table(scope(shop))  # the system user is fetched once and cached

    with CaptureQueriesContext(connection) as queries:
        rows = agent_table(scope(shop))

    assert [(row.username, row.compensation, row.compensation_per_case) for row in rows] == [
        ("lilei", Decimal("42.50"), Decimal("21.25"))
    ]
    refund_reads = [query["sql"] for query in queries if 'FROM "aftersales_refund"' in query["sql"]]
    assert len(refund_reads) == 2
    assert [('"aftersales_aftersalesticket"' in sql) for sql in refund_reads] == [False, True]
