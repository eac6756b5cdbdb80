"""The intercept, parcel and claim pages show each history action by its label, never by its code, in both
languages (tests/aftersales/test_event_vocabulary.py holds the vocabulary's own tests)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from logistics.models import CourierClaim, LogisticsEvent
from logistics.services import intercept_request
from tests.aftersales.test_event_vocabulary import history_cells
from tests.factories import ShopFactory, make_staff, open_ticket, system_user
from tests.logistics.parcels import parcel

pytestmark = pytest.mark.django_db

Action = LogisticsEvent.Action
# Which page's history each action is written to by the services.
SUBJECTS = {
    "intercept": [
        Action.REQUESTED,
        Action.CONFIRMED,
        Action.FAILED,
        Action.RETURNED,
        Action.OVERDUE,
        Action.SENT_KUAIDI100,
        Action.OUTCOME_UNKNOWN,
        Action.FELL_BACK,
        Action.COURIER_PROGRESS,
        Action.ANSWER_UNKNOWN,
    ],
    "shipment": [
        Action.DISPATCHED,
        Action.INTERCEPTED,
        Action.DELIVERED,
        Action.DECLARED_LOST,
        Action.REAPPEARED,
        Action.REPLACEMENT_CREATED,
        Action.REMEDY_PENDING,
        Action.REMEDY_REFUND,
        Action.REMEDY_RESHIP,
    ],
    "claim": [
        Action.OPENED,
        Action.REGISTERED,
        Action.REGISTERED_WAITING,
        Action.NOT_BACK,
        Action.SUBMITTED,
        Action.SETTLED,
        Action.REJECTED,
        Action.WITHDRAWN,
        Action.NEEDS_REVIEW,
        Action.REVIEWED,
    ],
}


def test_the_subjects_cover_the_whole_vocabulary():
    assert sorted(action for actions in SUBJECTS.values() for action in actions) == sorted(Action)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_logistics_histories_show_every_action_by_its_label_and_no_code(client, language):
    shop = ShopFactory()
    agent = make_staff("agent", role="Agent", shops=[shop])
    shipment = parcel(quiet_for=timedelta(hours=3), shop=shop)
    intercept = intercept_request(ticket=open_ticket(shipment.order), by=system_user())
    claim = CourierClaim.objects.create(
        shop=shop,
        courier=shipment.courier,
        order=shipment.order,
        shipment=shipment,
        cause="lost",
        loss_amount=shipment.order.paid_amount,
        claim_amount=shipment.order.paid_amount,
        month=timezone.localdate().replace(day=1),
        created_at=timezone.now(),
    )
    subjects = {"intercept": intercept, "shipment": shipment, "claim": claim}
    LogisticsEvent.objects.filter(intercept=intercept).delete()  # the request's own event: written again below
    LogisticsEvent.objects.filter(shipment=shipment).delete()
    LogisticsEvent.objects.bulk_create(
        LogisticsEvent(**{name: subjects[name]}, actor=agent, action=action, at=timezone.now())
        for name, actions in SUBJECTS.items()
        for action in actions
    )
    client.force_login(agent)
    client.post(reverse("set_language"), {"language": language, "next": "/"})

    for name, url in [
        ("intercept", reverse("admin:logistics_interceptrequest_change", args=[intercept.pk])),
        ("shipment", reverse("admin:logistics_shipment_change", args=[shipment.pk])),
        ("claim", reverse("admin:logistics_courierclaim_change", args=[claim.pk])),
    ]:
        response = client.get(url)
        assert response.status_code == 200, name
        shown = history_cells(response.content.decode(), "action")

        with translation.override(language):
            labels = [str(action.label) for action in SUBJECTS[name]]
        assert sorted(shown) == sorted(labels), name
        assert set(shown) & set(Action.values) == set(), name
