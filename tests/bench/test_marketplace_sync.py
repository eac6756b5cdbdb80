"""bench_marketplace_sync's 双11 morning syncs from every simulated platform at once and says what each one reached."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from aftersales.models import AfterSalesTicket
from bench.marketplace import simulated_platforms
from tests.conftest import free_port
from tests.marketplaces.conftest import seed_reference_rows

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_morning_is_dealt_round_every_simulated_platform_and_each_reports_its_own_rate():
    seed_reference_rows()
    platforms = simulated_platforms()
    out = StringIO()

    call_command(
        "bench_marketplace_sync",
        "--changes",
        str(20 * len(platforms)),
        "--shops",
        str(len(platforms)),
        "--processes",
        "2",
        "--port",
        str(free_port()),
        "--skip-round-trip",
        "--json",
        stdout=out,
    )

    report = json.loads(out.getvalue().strip().splitlines()[-1])["double_eleven"]
    assert {"taobao", "douyin"} <= set(platforms)
    assert report["platforms"] == platforms
    assert report["errors"] == []
    assert report["tickets_opened"] == 20 * len(platforms)
    assert set(report["per_platform"]) == set(platforms)
    for platform_code, figures in report["per_platform"].items():
        assert figures["tickets_opened"] == 20, platform_code
        assert figures["records_synced"] >= 20, platform_code
        assert figures["rate_per_second"] > 0, platform_code
    opened = AfterSalesTicket.objects.filter(shop__code__startswith="bench-mkt-")
    assert sorted(set(opened.values_list("shop__platform__code", flat=True))) == sorted(platforms)
