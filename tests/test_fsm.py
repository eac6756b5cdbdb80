"""The corrections to django-fsm (desk/fsm.py)."""

import threading

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import class_prepared

from aftersales.models import AfterSalesTicket
from tests.factories import OrderFactory, open_ticket


def test_rendering_every_historical_model_connects_no_class_prepared_receiver():
    before = len(class_prepared.receivers)

    historical = MigrationLoader(None, ignore_no_migrations=True).project_state().apps

    assert historical.get_model("aftersales", "AfterSalesTicket")._meta.get_field("state")
    assert len(class_prepared.receivers) == before


def test_the_real_models_still_know_their_transitions():
    names = {transition.name for transition in AfterSalesTicket().get_all_state_transitions()}

    assert {"refund_automatically", "refund_on_approval"} <= names


@pytest.mark.usefixtures("reference_data")
def test_threads_refreshing_tickets_at_once_never_find_the_state_protected_halfway():
    """django-fsm lifted the protection on the field, for every thread, while one instance refreshed."""
    ticket = open_ticket(OrderFactory())
    failures = []

    def refresh_many():
        try:
            mine = AfterSalesTicket.objects.get(pk=ticket.pk)
            for _ in range(300):
                mine.refresh_from_db()
        except AttributeError as error:
            failures.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []


def test_the_state_is_still_protected_from_direct_writes():
    ticket = AfterSalesTicket(state="requested")

    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        ticket.state = "refunded"


@pytest.mark.usefixtures("reference_data")
def test_a_refresh_reads_the_state_with_the_other_fields_in_one_query(django_assert_num_queries):
    ticket = open_ticket(OrderFactory())
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(state="closed", buyer_message="changed")

    with django_assert_num_queries(1):
        ticket.refresh_from_db()
        assert (ticket.state, ticket.buyer_message) == ("closed", "changed")


@pytest.mark.usefixtures("reference_data")
def test_a_refresh_still_forgets_what_was_prefetched():
    open_ticket(OrderFactory())
    loaded = AfterSalesTicket.objects.prefetch_related("events").get()
    assert loaded._prefetched_objects_cache

    loaded.refresh_from_db()

    assert loaded._prefetched_objects_cache == {}
