"""Intercepts asked through Kuaidi100's intercept order, beside the group robot: the signed request reaches the local
simulator with its parameters, the courier's callback moves the intercept through the intercept services, a replay
changes nothing, a refusal falls back to the robot, an unclear answer is never sent again, and the 2-hour follow-up
treats a Kuaidi100 intercept as it treats a robot one.

Answers are read in English (the language cookie)."""

import hashlib
import io
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aftersales.models import TicketState
from desk import crypto
from logistics.kuaidi100_intercept import callback_sign, intercept_form, request_sign
from logistics.kuaidi100_simulator import Kuaidi100Simulator
from logistics.models import (
    CourierAgreement,
    InterceptChannel,
    InterceptRequest,
    Kuaidi100Intercept,
    Kuaidi100InterceptCallback,
    LogisticsEvent,
    RobotMessage,
)
from logistics.services import (
    courier_agreement_upsert,
    intercept_request,
    intercepts_flag_overdue,
    kuaidi100_intercept_send,
    kuaidi100_intercepts_send_pending,
)
from tests.factories import make_staff, open_ticket
from tests.logistics.parcels import courier, parcel

pytestmark = pytest.mark.django_db

KEY, SECRET = "k100-key", "k100-secret"
FORM = "application/x-www-form-urlencoded"


# --- signatures (fixed vectors, worked out with `printf '%s' … | md5sum`, not with the code under test) -----------


def test_the_request_sign_is_upper_hex_md5_of_param_t_key_secret():
    # printf '%s' '{"orderId":"IR1"}1700000000000demo-keydemo-secret' | md5sum
    expected = "698EA683325AA4DE71A4BCE2932D2CC2"
    assert request_sign('{"orderId":"IR1"}', "1700000000000", "demo-key", "demo-secret") == expected


def test_the_request_form_carries_method_key_t_param_and_its_sign():
    form = intercept_form({"orderId": "IR1"}, key="demo-key", secret="demo-secret", now_ms=1700000000000)
    assert form == {
        "method": "interceptOrder",
        "key": "demo-key",
        "t": "1700000000000",
        "param": '{"orderId":"IR1"}',
        "sign": "698EA683325AA4DE71A4BCE2932D2CC2",
    }


def test_the_callback_sign_is_upper_hex_md5_of_param_and_salt():
    # printf '%s' '{"orderId":"IR1","status":"SUCCESS"}salt-1' | md5sum
    assert callback_sign('{"orderId":"IR1","status":"SUCCESS"}', "salt-1") == "62F301D4A945870FCD870B8CE4D7AE21"


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture
def sim(settings):
    simulator = Kuaidi100Simulator(deliver=False).start()
    simulator.add_account(KEY, SECRET)
    simulator.timeout_sleep = 1.5
    settings.KUAIDI100_INTERCEPT_URL = simulator.url
    settings.KUAIDI100_INTERCEPT_TIMEOUT = 0.5
    settings.KUAIDI100_CALLBACK_BASE_URL = "https://desk.example.com"
    yield simulator
    simulator.stop()


@pytest.fixture
def shipment():
    return parcel(quiet_for=timedelta(hours=5))


@pytest.fixture
def agreement(shipment):
    sf = courier("SF", kuaidi100_code="shunfeng")
    agreement = courier_agreement_upsert(
        shop=shipment.shop,
        courier=sf,
        intercept_channel=InterceptChannel.KUAIDI100,
        kuaidi100_key=KEY,
        kuaidi100_partner_id="SF-ACCOUNT-1",
        kuaidi100_net="杭州西湖网点",
        kuaidi100_intercept_type="RETURN_SEND_STATION",
        robot_kind="wecom",
        robot_webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
    )
    agreement.set_kuaidi100_secret(SECRET)
    agreement.set_kuaidi100_partner_key("partner-pass")
    agreement.save()
    return agreement


@pytest.fixture
def agent(shipment):
    return make_staff("agent", role="Agent", shops=[shipment.shop])


@pytest.fixture
def intercept(shipment, agreement, agent):
    ticket = open_ticket(shipment.order, requested_amount="199.00")
    return intercept_request(ticket=ticket, by=agent, note="买家不要了")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()


def _call(intercept) -> Kuaidi100Intercept:
    return Kuaidi100Intercept.objects.get(intercept=intercept)


def _actions(intercept) -> list[str]:
    return list(LogisticsEvent.objects.filter(intercept=intercept).order_by("id").values_list("action", flat=True))


def _post(form: dict, order_id: str):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("logistics:kuaidi100_intercept_callback", args=[order_id])
    return client.post(url, data=urlencode(form), content_type=FORM)


def _sent(intercept, sim) -> Kuaidi100Intercept:
    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "accepted"
    return _call(intercept)


# --- the channel ----------------------------------------------------------------------------------------------------


def test_the_secrets_are_stored_encrypted(agreement):
    stored = CourierAgreement.objects.values_list("kuaidi100_secret_encrypted", "kuaidi100_partner_key_encrypted").get(
        pk=agreement.pk
    )
    assert SECRET not in stored[0]
    assert "partner-pass" not in stored[1]
    assert (crypto.decrypt(stored[0]), crypto.decrypt(stored[1])) == (SECRET, "partner-pass")


def test_rotating_the_keys_re_encrypts_the_kuaidi100_secrets(agreement, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MARKETPLACE_SECRET_KEYS = [old_key]
    agreement.set_kuaidi100_secret(SECRET)
    agreement.set_kuaidi100_partner_key("partner-pass")
    agreement.save()
    settings.MARKETPLACE_SECRET_KEYS = [new_key, old_key]

    output = io.StringIO()
    call_command("courier_rotate_secrets", stdout=output)

    settings.MARKETPLACE_SECRET_KEYS = [new_key]
    agreement.refresh_from_db()
    assert crypto.decrypt(agreement.kuaidi100_secret_encrypted) == SECRET
    assert crypto.decrypt(agreement.kuaidi100_partner_key_encrypted) == "partner-pass"
    assert output.getvalue().startswith("1 courier agreements")


def test_a_robot_agreement_still_asks_by_robot(shipment, agent):
    courier_agreement_upsert(
        shop=shipment.shop, courier=courier("SF"), robot_kind="wecom", robot_webhook_url="https://x.example/"
    )
    ticket = open_ticket(shipment.order, requested_amount="199.00")

    intercept = intercept_request(ticket=ticket, by=agent)

    assert intercept.channel == InterceptChannel.ROBOT
    assert RobotMessage.objects.filter(intercept=intercept, purpose="intercept_request").count() == 1
    assert not Kuaidi100Intercept.objects.exists()


def test_the_request_reaches_kuaidi100_with_its_parameters_and_no_robot_message(intercept, shipment, sim):
    assert intercept.channel == InterceptChannel.KUAIDI100
    assert not RobotMessage.objects.filter(intercept=intercept).exists()

    call = _sent(intercept, sim)

    [form] = sim.requests
    param = json.loads(form["param"])
    assert form["method"] == "interceptOrder"
    assert form["key"] == KEY
    # The simulator checked the sign itself; here again, from the documented rule.
    expected = _md5(form["param"] + form["t"] + KEY + SECRET)
    assert form["sign"] == expected
    assert param == {
        "orderId": call.order_id,
        "kuaidicom": "shunfeng",
        "kuaidinum": shipment.tracking_number,
        "partnerId": "SF-ACCOUNT-1",
        "partnerKey": "partner-pass",
        "net": "杭州西湖网点",
        "reason": param["reason"],
        "interceptType": "RETURN_SEND_STATION",
        "orderRole": "1",
        "interceptPayType": "MONTHLY",
        "callbackUrl": f"https://desk.example.com/logistics/webhooks/kuaidi100-intercept/{call.order_id}/",
        "salt": call.salt,
    }
    assert call.order_id in sim.orders
    assert call.status == "accepted"
    assert _actions(intercept) == ["requested", "sent_kuaidi100"]


def test_kuaidi100_is_called_with_no_transaction_of_the_service_open(intercept, sim, monkeypatch):
    from django.db import connection

    from logistics.services import kuaidi100 as service

    the_tests_own = len(connection.atomic_blocks)
    open_blocks = []
    real_send = service.send_intercept

    def send(*args, **kwargs):
        open_blocks.append(len(connection.atomic_blocks))
        return real_send(*args, **kwargs)

    monkeypatch.setattr(service, "send_intercept", send)

    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "accepted"
    assert open_blocks == [the_tests_own]


def test_a_sent_order_is_never_sent_again(intercept, sim):
    _sent(intercept, sim)

    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "accepted"
    assert kuaidi100_intercepts_send_pending() == 0

    assert len(sim.requests) == 1


# --- the courier's answers ------------------------------------------------------------------------------------------


def test_a_confirmed_callback_confirms_the_intercept_through_its_service(intercept, shipment, sim):
    call = _sent(intercept, sim)

    response = _post(sim.answer(call.order_id, "SUCCESS", "已拦截"), call.order_id)

    assert response.status_code == 200
    assert response.json()["result"] is True
    intercept.refresh_from_db()
    shipment.refresh_from_db()
    assert (intercept.status, intercept.courier_answer) == ("confirmed", "SUCCESS")
    assert shipment.status == "intercepted"
    event = LogisticsEvent.objects.get(intercept=intercept, action="confirmed")
    assert event.actor.username == "system"
    assert "SUCCESS" in event.note
    assert intercept.ticket.events.filter(action="intercept_confirmed").exists()
    assert Kuaidi100InterceptCallback.objects.get().outcome == "confirmed"


def test_a_failed_callback_fails_the_intercept_and_the_ticket_returns_to_the_agent(intercept, sim):
    call = _sent(intercept, sim)

    assert _post(sim.answer(call.order_id, "FAIL", "已派送"), call.order_id).status_code == 200

    intercept.refresh_from_db()
    intercept.ticket.refresh_from_db()
    assert intercept.status == "failed"
    assert intercept.ticket.state == TicketState.REQUESTED
    assert LogisticsEvent.objects.filter(intercept=intercept, action="failed", to_state="failed").count() == 1


def test_a_returned_to_sender_callback_after_the_confirmation_marks_it_returned(intercept, shipment, sim):
    call = _sent(intercept, sim)
    _post(sim.answer(call.order_id, "SUCCESS"), call.order_id)

    assert _post(sim.answer(call.order_id, "RETURN_SIGNED"), call.order_id).status_code == 200

    intercept.refresh_from_db()
    shipment.refresh_from_db()
    assert (intercept.status, intercept.courier_answer) == ("returned_to_warehouse", "RETURN_SIGNED")
    assert shipment.status == "returned"
    event = LogisticsEvent.objects.get(intercept=intercept, action="returned")
    assert (event.from_state, event.to_state) == ("confirmed", "returned_to_warehouse")


def test_a_replayed_callback_changes_nothing(intercept, sim):
    call = _sent(intercept, sim)
    form = sim.answer(call.order_id, "SUCCESS")
    _post(form, call.order_id)
    before = (_actions(intercept), Kuaidi100InterceptCallback.objects.count(), intercept.ticket.events.count())

    again = _post(form, call.order_id)

    assert again.status_code == 200
    after = (_actions(intercept), Kuaidi100InterceptCallback.objects.count(), intercept.ticket.events.count())
    assert after == before


def test_a_progress_callback_is_recorded_without_moving_the_intercept(intercept, sim):
    call = _sent(intercept, sim)

    assert _post(sim.answer(call.order_id, "PROCESSING"), call.order_id).status_code == 200

    intercept.refresh_from_db()
    assert (intercept.status, intercept.courier_answer) == ("requested", "PROCESSING")
    assert _actions(intercept)[-1] == "courier_progress"


def test_an_unknown_state_is_stored_and_flagged_for_an_agent(intercept, sim):
    call = _sent(intercept, sim)

    response = _post(sim.answer(call.order_id, "PARTIAL_OK", "?"), call.order_id)

    assert response.status_code == 200
    intercept.refresh_from_db()
    intercept.ticket.refresh_from_db()
    assert intercept.status == "requested"
    assert Kuaidi100InterceptCallback.objects.get().outcome == "unknown"
    assert _actions(intercept)[-1] == "answer_unknown"
    assert "PARTIAL_OK" in intercept.ticket.attention_note


def test_a_contradicting_answer_does_not_move_the_intercept(intercept, sim):
    call = _sent(intercept, sim)
    _post(sim.answer(call.order_id, "FAIL"), call.order_id)

    _post(sim.answer(call.order_id, "SUCCESS"), call.order_id)

    intercept.refresh_from_db()
    assert intercept.status == "failed"
    assert _actions(intercept)[-1] == "answer_unknown"


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"param": '{"status":"SUCCESS"}'},
        {"param": '{"status":"SUCCESS"}', "sign": "0" * 32},
        {"param": "not json", "sign": "x"},
        {"param": '{"status":"SUCCESS"}', "sign": "é" * 32},
    ],
    ids=["empty", "unsigned", "bad-sign", "garbage", "non-ascii-sign"],
)
def test_a_bad_callback_is_a_4xx_and_changes_nothing(intercept, sim, form):
    call = _sent(intercept, sim)

    response = _post(form, call.order_id)

    assert 400 <= response.status_code < 500
    assert response.json()["result"] is False
    assert not Kuaidi100InterceptCallback.objects.exists()
    assert InterceptRequest.objects.get(pk=intercept.pk).status == "requested"


def test_signed_garbage_and_a_callback_for_another_waybill_are_4xx(intercept, sim):
    call = _sent(intercept, sim)
    for param in ["[1, 2]", '{"status": null}', json.dumps({"kuaidinum": "SF999", "status": "SUCCESS"}), "\x00"]:
        form = {"param": param, "sign": _md5(param + call.salt)}
        assert 400 <= _post(form, call.order_id).status_code < 500, param
    assert not Kuaidi100InterceptCallback.objects.exists()


def test_a_callback_for_an_unknown_order_or_with_another_salt_is_refused(intercept, sim):
    call = _sent(intercept, sim)

    assert _post(sim.callback_form(call.order_id, "SUCCESS"), "IR0-nothing").status_code == 404
    assert _post(sim.callback_form(call.order_id, "SUCCESS", salt="other"), call.order_id).status_code == 403
    assert Client().get(reverse("logistics:kuaidi100_intercept_callback", args=[call.order_id])).status_code == 405


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner))
CALLBACK = st.fixed_dictionaries(
    {},
    optional={
        "status": SCALARS | st.sampled_from(["SUCCESS", "FAIL", "RETURN_SIGNED", "PROCESSING", "拦截成功"]),
        "state": SCALARS,
        "orderId": SCALARS,
        "kuaidinum": SCALARS,
        "message": JSON,
    },
)
FUZZ = hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(payload=CALLBACK | JSON, sign=st.text(max_size=40), raw=st.binary(max_size=200))
def test_random_callbacks_signed_or_not_never_get_a_500(intercept, sim, payload, sign, raw):
    call = Kuaidi100Intercept.objects.get(intercept=intercept)
    param = json.dumps(payload, ensure_ascii=False)
    url = reverse("logistics:kuaidi100_intercept_callback", args=[call.order_id])

    signed = _post({"param": param, "sign": _md5(param + call.salt)}, call.order_id)
    unsigned = _post({"param": param, "sign": sign}, call.order_id)
    garbage = Client().post(url, raw, content_type=FORM)

    assert signed.status_code < 500
    assert signed.json()["result"] is (signed.status_code == 200)
    assert 400 <= unsigned.status_code < 500 or unsigned.status_code == 200 and sign.upper() == _md5(param + call.salt)
    assert 400 <= garbage.status_code < 500


# --- refusals and unclear answers -----------------------------------------------------------------------------------


def test_a_refusal_falls_back_to_the_group_robot_visibly(intercept, sim):
    sim.plan("refuse")

    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "refused"

    intercept.refresh_from_db()
    assert intercept.channel == InterceptChannel.ROBOT_FALLBACK
    message = RobotMessage.objects.get(intercept=intercept, purpose="intercept_request")
    assert intercept.shipment.tracking_number in message.text
    fell_back = LogisticsEvent.objects.get(intercept=intercept, action="fell_back")
    assert "30002" in fell_back.note
    assert intercept.status == "requested"


def test_a_bad_account_is_a_refusal_too(intercept, sim):
    sim.accounts[KEY] = "another-secret"

    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "refused"

    assert RobotMessage.objects.filter(intercept=intercept, purpose="intercept_request").count() == 1


@pytest.mark.parametrize("fault", ["timeout", "acted_then_timeout", "server_error"])
def test_an_unclear_answer_is_never_sent_again_and_goes_to_the_agent(intercept, sim, fault):
    sim.plan(fault)

    with translation.override("en"):
        assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "unknown"
    assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "unknown"
    assert kuaidi100_intercepts_send_pending() == 0

    assert len(sim.requests) == 1
    intercept.refresh_from_db()
    intercept.ticket.refresh_from_db()
    assert intercept.channel == InterceptChannel.KUAIDI100
    assert _actions(intercept) == ["requested", "outcome_unknown"]
    assert "not sent again" in intercept.ticket.attention_note
    assert not RobotMessage.objects.filter(intercept=intercept).exists()


def test_a_callback_after_an_unclear_answer_is_still_recorded(intercept, sim):
    sim.plan("acted_then_timeout")
    kuaidi100_intercept_send(call_id=_call(intercept).pk)
    call = _call(intercept)

    _post(sim.answer(call.order_id, "SUCCESS"), call.order_id)

    intercept.refresh_from_db()
    assert intercept.status == "confirmed"
    assert _call(intercept).status == "accepted"


def test_a_worker_lost_mid_call_is_not_sent_again(intercept, sim):
    call = _call(intercept)
    # What a worker leaves when it dies after taking the order (maybe after sending it).
    Kuaidi100Intercept.objects.filter(pk=call.pk).update(attempts=1, sending_since=timezone.now())
    assert kuaidi100_intercepts_send_pending() == 0

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert kuaidi100_intercepts_send_pending() == 1

    assert sim.requests == []
    assert _call(intercept).status == "unknown"


def test_a_lost_task_is_sent_by_the_follow_up(intercept, sim):
    assert kuaidi100_intercepts_send_pending() == 1
    assert len(sim.requests) == 1
    assert _call(intercept).status == "accepted"


# --- the 2-hour answer clock ----------------------------------------------------------------------------------------


def test_an_unanswered_kuaidi100_intercept_is_followed_up_after_two_hours_like_a_robot_one(
    intercept, shipment, agent, sim
):
    _sent(intercept, sim)
    assert intercept.due_at - intercept.requested_at == timedelta(hours=2)
    # A robot intercept of another parcel of the same shop, asked at the same time.
    other = parcel(quiet_for=timedelta(hours=5), shop=shipment.shop)
    CourierAgreement.objects.filter(pk=intercept.shop.courier_agreements.get().pk).update(intercept_channel="robot")
    robot = intercept_request(ticket=open_ticket(other.order, requested_amount="10.00"), by=agent)
    assert robot.channel == InterceptChannel.ROBOT

    with time_machine.travel(intercept.requested_at + timedelta(minutes=119)):
        assert intercepts_flag_overdue() == 0
    with time_machine.travel(intercept.requested_at + timedelta(hours=2, minutes=1)):
        assert intercepts_flag_overdue() == 2

    for each in (intercept, robot):
        each.refresh_from_db()
        each.ticket.refresh_from_db()
        assert each.overdue_flagged_at is not None
        assert "overdue" in _actions(each)
        assert each.ticket.attention_note
    chase = RobotMessage.objects.get(purpose="intercept_overdue")
    assert intercept.shipment.tracking_number in chase.text
    assert other.tracking_number in chase.text


# --- the simulator over HTTP, end to end ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_simulator_calls_the_desk_back_over_http(reference_data, live_server, settings):
    """As in `make run`: the simulator accepts the order, then posts its signed answer to the callbackUrl we sent."""
    simulator = Kuaidi100Simulator().start()
    try:
        simulator.add_account(KEY, SECRET)
        settings.KUAIDI100_INTERCEPT_URL = simulator.url
        settings.KUAIDI100_CALLBACK_BASE_URL = live_server.url
        shipment = parcel(quiet_for=timedelta(hours=5))
        sf = courier("SF", kuaidi100_code="shunfeng")
        agreement = courier_agreement_upsert(
            shop=shipment.shop, courier=sf, intercept_channel="kuaidi100", kuaidi100_key=KEY
        )
        agreement.set_kuaidi100_secret(SECRET)
        agreement.save()
        agent = make_staff("agent", role="Agent", shops=[shipment.shop])
        intercept = intercept_request(ticket=open_ticket(shipment.order, requested_amount="9.00"), by=agent)
        assert kuaidi100_intercept_send(call_id=_call(intercept).pk) == "accepted"

        simulator.answer(_call(intercept).order_id, "拦截成功", "已拦截")

        intercept.refresh_from_db()
        assert (intercept.status, intercept.courier_answer) == ("confirmed", "拦截成功")
    finally:
        simulator.stop()
