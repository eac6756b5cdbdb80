"""Historical models rendered by migrations leave no django-fsm listener behind (desk/fsm_history.py)."""

from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import class_prepared

from aftersales.models import AfterSalesTicket


def test_rendering_every_historical_model_connects_no_class_prepared_receiver():
    before = len(class_prepared.receivers)

    historical = MigrationLoader(None, ignore_no_migrations=True).project_state().apps

    assert historical.get_model("aftersales", "AfterSalesTicket")._meta.get_field("state")
    assert len(class_prepared.receivers) == before


def test_the_real_models_still_know_their_transitions():
    names = {transition.name for transition in AfterSalesTicket().get_all_state_transitions()}

    assert {"refund_automatically", "refund_on_approval"} <= names
