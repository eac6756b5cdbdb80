"""Each bench command runs at a tiny size against PostgreSQL and prints a JSON line with its figures."""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from aftersales.models import AfterSalesTicket, Order, Refund
from bench.generate import generate_year
from logistics.models import TrackingEvent

END = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SHOP = "tiny-bench"


def run(command: str, *args) -> dict:
    out = StringIO()
    call_command(command, "--shop", SHOP, *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    report = json.loads(lines[-1])
    assert len(lines) > 1  # the table for people came first
    return report


@pytest.fixture
def year(db):
    return generate_year(shop_code=SHOP, orders=2_000, tickets=200, seed=3, end=END)


def test_bench_generate_year_prints_the_rows_it_wrote(db):
    out = StringIO()
    call_command("bench_generate_year", "--shop", SHOP, "--orders", "300", "--tickets", "30", "--json", stdout=out)

    report = json.loads(out.getvalue())

    assert report["benchmark"] == "generate_year"
    assert report["rows"]["aftersales_order"] == 300
    assert report["rows"]["aftersales_aftersalesticket"] == 30
    assert report["rows_total"] == sum(report["rows"].values())


def test_bench_sweep_times_the_sweep_beside_the_statement_and_leaves_the_year_as_it_was(year):
    refunds_before = Refund.objects.filter(shop=year.shop).count()

    report = run("bench_sweep", "--tickets", "300", "--batch-size", "100")

    assert report["open_path1_tickets"] == 300
    assert report["set_based_sql_tickets_moved"] == 300
    assert report["sweep_tickets_moved"] == 300
    assert report["sweep_counts"]["auto_refund"] == 300
    assert report["ratio"] > 0
    assert {"sweep_seconds", "set_based_sql_seconds", "queries_per_batch", "meets_target", "machine"} <= set(report)
    assert Refund.objects.filter(shop=year.shop).count() == refunds_before
    assert not Order.objects.filter(shop=year.shop, platform_order_id__startswith="SWEEP").exists()


def test_bench_dashboard_rolls_up_and_reports_time_and_queries(year):
    report = run("bench_dashboard", "--runs", "2", "--rollup-days", "35")

    assert report["rollup"]["rows_written"] > 0
    for days in ("days_30", "days_90"):
        assert report[days]["runs"] == 2
        assert len(report[days]["queries"]) == 1
    assert {"target_ms", "fixed_queries", "meets_target"} <= set(report)


def test_bench_admin_changelist_pads_the_table_reads_pages_and_rolls_back(year):
    report = run("bench_admin_changelist", "--tickets", "1500", "--runs", "2")

    assert report["tickets_in_table"] == 1500
    assert report["max_queries"] <= 12
    assert report["fixed_queries"]
    assert report["full_count_queries_per_request"] == 0
    assert set(report["lists"]) == {
        "orders", "tickets", "refunds", "approvals", "intercepts", "claims", "shipments", "return parcels",
        "inspections",
    }  # fmt: skip
    assert report["pages_measured"] == 9 * 4 * 2
    assert report["lists"]["orders"]["as_manager"]["first page"]["rows_on_page"] == 50
    assert report["lists"]["tickets"]["as_superuser"]["search"]["rows_on_page"] >= 1
    assert AfterSalesTicket.objects.filter(shop=year.shop).count() == 200


def test_bench_ticket_search_pads_both_tables_finds_the_buyer_each_way_and_rolls_back(year):
    report = run("bench_ticket_search", "--tickets", "1500", "--orders", "3500", "--runs", "2")

    assert report["tickets_in_table"] == 1500
    assert (report["orders_in_table"], report["orders_added_for_the_run"]) == (3500, 1500)
    assert report["max_queries"] <= 12
    assert report["full_count_queries_per_request"] == 0
    assert report["as_manager"]["all tickets"]["rows_on_page"] == 50
    # Each thing an agent types for one buyer finds their ticket, in as many queries as the other pages.
    searches = {name: page for name, page in report["as_manager"].items() if name.startswith("search by")}
    assert len(searches) >= 6
    assert all(page["rows_on_page"] >= 1 for page in searches.values()), searches
    assert report["search_target_ms"] == 300
    assert report["explain_phone_last_4"]
    assert AfterSalesTicket.objects.filter(shop=year.shop).count() == 200
    assert Order.objects.filter(shop=year.shop).count() == 2000


def test_bench_ingest_through_the_test_client_absorbs_duplicates_and_cleans_up(year):
    scans_before = TrackingEvent.objects.filter(shipment__shop=year.shop).count()

    report = run("bench_ingest", "--transport", "client", "--events", "400", "--batch", "50")

    assert report["transport"].startswith("Django test client")
    assert report["events_sent"] == 400
    assert report["answers"] == {"200": 8}
    assert report["stored"] > 0
    assert report["duplicates"] > 0
    assert report["events_per_second"] > 0
    assert TrackingEvent.objects.filter(shipment__shop=year.shop).count() == scans_before


@pytest.mark.slow
@pytest.mark.usefixtures("reference_data")
def test_bench_latency_offers_the_schedule_from_many_clients_and_says_where_the_cpu_went():
    shop = generate_year(shop_code=SHOP, orders=2_000, tickets=200, seed=3, end=END).shop

    report = run("bench_latency", "--tickets", "24", "--rate", "200", "--clients", "6")

    assert report["clients"] == 6
    assert report["paid"] == report["tickets"] == 24
    # Timed from each ticket's scheduled moment, so how late a client began one is part of that ticket's latency.
    assert 0 <= report["start_lag_p99_ms"] / 1000 <= report["max_seconds"]
    assert report["p50_seconds"] <= report["p99_seconds"] <= report["max_seconds"]
    cpu = report["cpu_ms_per_ticket"]
    assert cpu["clients"] > 0
    assert cpu["worker"] is None or cpu["worker"] > 0
    assert cpu["clients_postgresql"] is None or cpu["clients_postgresql"] > 0
    assert not Order.objects.filter(shop=shop, platform_order_id__startswith="LATENCY").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("reference_data")
def test_bench_all_runs_everything_with_gunicorn_and_a_real_worker(tmp_path):
    generate_year(shop_code=SHOP, orders=1_500, tickets=150, seed=5, end=END)
    output = tmp_path / "bench.json"

    report = run(
        "bench_all",
        "--sweep-tickets", "200", "--list-tickets", "1200", "--ingest-events", "600", "--latency-tickets", "20",
        "--runs", "2", "--rollup-days", "35", "--output", str(output),
    )  # fmt: skip

    assert json.loads(output.read_text(encoding="utf-8")) == report
    assert {"refund_sweep", "dashboard", "admin_changelist", "tracking_ingest", "path1_refund_latency"} <= set(report)
    assert report["tracking_ingest"]["transport"] == "HTTP to gunicorn on 127.0.0.1"
    assert report["tracking_ingest"]["answers"] == {"200": report["tracking_ingest"]["pushes"]}
    assert report["path1_refund_latency"]["paid"] == 20
    assert report["path1_refund_latency"]["p95_seconds"] is not None
    assert report["admin_changelist"]["fixed_queries"]
