"""The figures the database computes for the dashboard, on PostgreSQL (tests/test_every_page.py: the same on SQLite)."""

import pytest

from tests.metrics.vendor_golden import GOLDEN_AGENTS, GOLDEN_WEEKS, golden_results

pytestmark = pytest.mark.django_db


def test_the_database_p90_and_agent_table_of_rolled_up_days_are_the_golden_figures_on_postgresql():
    results = golden_results()

    assert results["weeks"] == GOLDEN_WEEKS
    assert results["agents"] == GOLDEN_AGENTS
