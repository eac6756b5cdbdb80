"""The sweep runs in the admin (日清记录): listed newest first with what each did and which tickets it left."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.models import SweepRun
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
URL = reverse("admin:aftersales_sweeprun_changelist")


def runs(count: int) -> None:
    SweepRun.objects.bulk_create(
        SweepRun(
            kind=SweepRun.Kind.REFUND,
            status=SweepRun.Status.FINISHED,
            started_at=timezone.now(),
            finished_at=timezone.now(),
            batch_size=200,
            counts={"auto_refund": 3, "deadline_escalated": 1},
            errors=[{"step": "refund_first", "ticket": 41, "error": "Nothing of this order is left to refund."}],
        )
        for _ in range(count)
    )


def queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured)


def test_a_manager_reads_the_runs_with_their_counts_and_errors(client):
    runs(1)
    client.force_login(make_staff("manager", role="Manager"))

    page = client.get(URL).content.decode()
    detail = client.get(reverse("admin:aftersales_sweeprun_change", args=[SweepRun.objects.get().pk]))

    assert "auto_refund: 3" in page
    assert "退款日清" in page
    assert "#41" in detail.content.decode()
    assert "Nothing of this order is left to refund." in detail.content.decode()


def test_the_list_runs_the_same_queries_for_3_and_for_30_runs(client):
    client.force_login(make_staff("manager", role="Manager"))
    runs(3)
    few = queries(client)
    runs(27)

    assert queries(client) == few


def test_an_agent_does_not_see_the_runs(client):
    client.force_login(make_staff("agent", role="Agent"))

    assert client.get(URL).status_code == 403
