"""Golden figures of the dashboard's reads that the database computes, on whatever database Django uses.

tests/metrics/test_vendor_golden.py checks them on PostgreSQL in-process; tests/page_crawl.py (`--golden`) prints them
from the embedded default's SQLite for tests/test_every_page.py. As strings, so that they cross a process as JSON.
"""

from datetime import date, datetime, timedelta

from metrics.definitions import Scope

# path_timeliness: (week, path, tickets, average hours, p90 hours) of the rolled-up weeks, summed by the database.
#  - week of Mon 2 Nov, path 3: ten tickets of 1..10 h → average 5.50, p90 = the ⌈0.9·10⌉ = 9th smallest = 9 h;
#  - same week, path 2: 4 h alone → 4.00 and 4.00 (⌈0.9⌉ = 1st);
#  - week of Mon 9 Nov, path 4: eleven tickets of 11 h down to 1 h, decided in that order → average 6.00,
#    p90 = the ⌈9.9⌉ = 10th smallest = 10 h (the 9th, 9 h, were the rank rounded down);
#  - week of Mon 16 Nov, path 3: 1.5 h, 0.25 h, 1.5 h → average 1.08 (3.25 / 3 = 1.083…), p90 = ⌈2.7⌉ = 3rd = 1.50 h.
GOLDEN_WEEKS = [
    ["2026-11-02", 2, 1, "4.00", "4.00"],
    ["2026-11-02", 3, 10, "5.50", "9.00"],
    ["2026-11-09", 4, 11, "6.00", "10.00"],
    ["2026-11-16", 3, 3, "1.08", "1.50"],
]
# agent_table: the agent decided all 25 tickets in 55 + 4 + 66 + 3.25 = 128.25 h → 5.13 h on average; the buyer of
# the first ticket paid ¥88.00 again on 1 Dec, after the rollup counted the later orders, so only the read of the orders
# paid since (LATER_ORDERS_SINCE_COUNTED, raw SQL) finds it.
GOLDEN_AGENTS = [["golden-agent", 25, "5.13", 1, "88.00"]]


def golden_results() -> dict:
    """Build the golden tickets in a shop of their own (each with its own buyer), roll their decisions up, and read
    the weeks and the agent table back with the rollups ending on 1 Dec, so that the database computes them."""
    from metrics.models import TicketDecision
    from metrics.rollups import decisions_refresh
    from metrics.selectors import agent_table, path_timeliness
    from tests.factories import ShopFactory, make_staff
    from tests.metrics.test_definitions import CHINA, END, START, at, order, ticket

    shop = ShopFactory(code="golden", name="golden")
    agent = make_staff("golden-agent", role="Agent", shops=[shop])
    buyers = iter(range(100))

    def decided(*, path, opened, hours):
        buyer = f"买家{next(buyers)}"
        bought = order(shop, paid=opened - timedelta(days=3), buyer=buyer)
        ticket(
            shop,
            opened=opened,
            path=path,
            of=bought,
            events=[("refund_approved", opened + timedelta(hours=hours), agent)],
        )

    for hours in range(1, 11):
        decided(path=3, opened=at(3, 8), hours=hours)
    decided(path=2, opened=at(4, 8), hours=4)
    for hours in range(11, 0, -1):
        decided(path=4, opened=at(10, 8), hours=hours)
    for hours in (1.5, 0.25, 1.5):
        decided(path=3, opened=at(17, 8), hours=hours)
    decisions_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 30), now=END)
    assert TicketDecision.objects.filter(shop=shop).count() == 25
    order(shop, paid=datetime(2026, 12, 1, 10, tzinfo=CHINA), buyer="买家0", amount="88.00")

    scope = Scope((shop.pk,), START, END)
    weeks = path_timeliness(scope, rolled_until=END)
    agents = agent_table(scope, rolled_until=END)
    return {
        "weeks": [
            [row.week.isoformat(), row.path, row.tickets, str(row.average_hours), str(row.p90_hours)] for row in weeks
        ],
        "agents": [
            [row.username, row.handled, str(row.average_hours), row.repurchases, str(row.sales_after)] for row in agents
        ],
    }
