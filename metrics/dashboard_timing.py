"""Timing the manager dashboard through Django's test client: middleware, view and template, no network.

Both benchmarks measure with it: `manage.py metrics_benchmark` on the small history it builds, `bench_dashboard` on
the generated year. A dashboard that does not answer 200 stops the command that asked (CommandError).
"""

import statistics
import time

from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def dashboard_timings(shop, manager, *, runs: int, days: int = 30) -> dict:
    """Open the dashboard of `shop` as `manager` `runs` times (after one warm-up) through Django's test client and
    return the server times in ms (median, p95, max, each run) and the query counts seen."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    url = f"{reverse('metrics:dashboard')}?shop={shop.pk}&days={days}"
    client.get(url)  # warm: templates compiled, the system user cached
    timings, counts = [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise CommandError(f"the dashboard answered {response.status_code}")
        counts.add(len(queries))
    ordered = sorted(timings)
    return {
        "url": url,
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max_ms": ordered[-1],
        "timings_ms": timings,
        "queries": sorted(counts),
    }
