"""The demo's dashboard days are rolled up once: a reload (every `make run`) recomputes only what it changed."""

import pytest

from config import demo
from metrics.models import DailyMetric

pytestmark = pytest.mark.django_db


def rollups():
    return sorted(DailyMetric.objects.values_list("shop__code", "day", "code", "numerator", "denominator"))


def test_the_first_load_rolls_up_every_dashboard_day_and_a_reload_recomputes_none():
    first = demo.load()
    loaded = rollups()

    second = demo.load()

    every_day = {(shop, day) for shop, day, *_rest in loaded}
    with_history = [spec for spec in demo.SHOPS if spec.get("demo_tickets", True)]
    assert len(every_day) >= demo.DEMO_ROLLUP_DAYS * len(with_history)
    assert first.rollup_days == len(every_day)
    assert second.rollup_days == 0
    assert rollups() == loaded
