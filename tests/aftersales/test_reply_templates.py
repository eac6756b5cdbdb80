"""Reply templates (快捷短语): the seeded defaults fit the tickets the seeds describe, filled in with the ticket's
figures through a fixed set of placeholders; shops keep their own; supervisors manage them in the admin."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.models import AfterSalesTicket, ReplyTemplate, TicketState
from aftersales.replies import fill, unknown_placeholders, values_for
from aftersales.selectors import reply_templates_for
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket, shipped_order

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_VALUES = {"buyer": "小林", "amount": "¥88.00", "deadline": "12月5日 14:00", "courier": "SF", "waybill": "SF1234"}


def titles(ticket):
    return [template.title for template, _text in reply_templates_for(ticket)]


def text_titled(ticket, title):
    return next(text for template, text in reply_templates_for(ticket) if template.title == title)


def set_state(ticket, state):
    # The state is the FSM's to change; these tests only need a ticket standing in a state.
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(state=state)
    return AfterSalesTicket.objects.select_related("order").get(pk=ticket.pk)


def test_fill_replaces_the_five_named_placeholders_and_nothing_else():
    engine_text = "{{ settings.SECRET_KEY }} {% debug %} {buyer.__class__}"
    text = "{buyer}：退款{amount}，{deadline}前，{courier} {waybill}。" + engine_text

    filled = fill(text, ALL_VALUES)

    assert filled == "小林：退款¥88.00，12月5日 14:00前，SF SF1234。" + engine_text


def test_a_missing_value_shows_its_name_for_the_agent_to_fill_and_a_buyer_without_nick_is_qin():
    filled = fill("{buyer}，单号{waybill}", {"buyer": None, "waybill": ""})

    assert filled == "亲，单号【运单号】"


def test_a_template_with_an_unknown_placeholder_is_refused():
    template = ReplyTemplate(title="坏模板", text="您好 {buyer}，{secret_key} {0} {buyer.pk}")

    assert unknown_placeholders(template.text) == ["secret_key", "0", "buyer.pk"]
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert "secret_key" in str(refused.value.message_dict["text"])


def test_a_buyer_who_chose_refund_only_on_a_delivered_order_is_offered_the_return_and_refund_guide():
    order = delivered_order(buyer_nick="tb_小林", paid_amount=Decimal("199.00"))
    ticket = open_ticket(order, requested_amount="199.00")

    assert ticket.path == 3
    assert ticket.state == TicketState.REQUESTED
    assert "误选仅退款：引导改为退货退款" in titles(ticket)
    text = text_titled(ticket, "误选仅退款：引导改为退货退款")
    assert text.startswith("tb_小林，您好！")
    assert "「退货退款」" in text
    assert "退款¥199.00" in text
    assert "拦截承诺：已联系快递拦截" not in titles(ticket)  # path 2 only


def test_an_intercepted_parcel_gets_the_intercept_promise_with_courier_waybill_and_deadline():
    order = shipped_order(buyer_nick="tb_阿杰", courier_code="SF", tracking_number="SF1400000000001")
    ticket = set_state(open_ticket(order, requested_amount="199.00"), TicketState.INTERCEPTING)
    nearer = min(ticket.deadline, ticket.sla_due).astimezone(SHANGHAI)

    text = text_titled(ticket, "拦截承诺：已联系快递拦截")

    assert "（SF SF1400000000001）" in text
    assert "2小时内" in text
    assert "退款¥199.00" in text
    assert f"最晚在{nearer.month}月{nearer.day}日 {nearer:%H:%M}前" in text


def test_late_shipping_gets_the_apology_and_a_complaint_risk_the_next_step():
    late = open_ticket(delivered_order(), reason_code="late_shipping", requested_amount="30.00")
    angry = open_ticket(delivered_order(), buyer_message="再不处理就投诉12315")

    assert "发货超时致歉与补偿" in titles(late)
    assert "发货超时致歉与补偿" not in titles(angry)
    assert angry.escalation_risk
    assert "投诉风险：升级处理，提出下一步方案" in titles(angry)
    assert "投诉风险：升级处理，提出下一步方案" not in titles(late)
    assert "【补偿 / 换新 / 退货退款】" in text_titled(angry, "投诉风险：升级处理，提出下一步方案")


def test_a_shop_template_replaces_the_default_of_its_title_and_an_inactive_one_hides_it():
    mine, other = ShopFactory(), ShopFactory()
    ticket = open_ticket(delivered_order(shop=mine, buyer_nick="小周"))
    other_ticket = open_ticket(delivered_order(shop=other))
    ReplyTemplate.objects.create(
        shop=mine, title="误选仅退款：引导改为退货退款", path=3, text="{buyer}，本店专用：请改选退货退款"
    )
    ReplyTemplate.objects.create(shop=mine, title="本店欢迎语", text="{buyer}您好，欢迎光临")
    ReplyTemplate.objects.create(shop=other, title="别家话术", text="别家")

    assert text_titled(ticket, "误选仅退款：引导改为退货退款") == "小周，本店专用：请改选退货退款"
    assert "本店欢迎语" in titles(ticket)
    assert "别家话术" not in titles(ticket)
    assert "本店欢迎语" not in titles(other_ticket)
    assert text_titled(other_ticket, "误选仅退款：引导改为退货退款").startswith("亲，您好！看到您申请的是")

    ReplyTemplate.objects.filter(shop=mine, title="误选仅退款：引导改为退货退款").update(is_active=False)
    assert "误选仅退款：引导改为退货退款" not in titles(ticket)


def test_the_templates_of_a_ticket_cost_one_query(django_assert_num_queries):
    ticket = AfterSalesTicket.objects.select_related("order").get(pk=open_ticket(delivered_order()).pk)
    for number in range(5):
        ReplyTemplate.objects.create(shop=ticket.shop, title=f"话术{number}", text="{buyer} {amount} {deadline}")

    with django_assert_num_queries(1):
        offered = reply_templates_for(ticket)

    assert len(offered) >= 6


def test_a_new_shop_gets_the_defaults_without_any_copy():
    ticket = open_ticket(delivered_order(shop=ShopFactory(name="新开的店")))

    assert ReplyTemplate.objects.filter(shop=ticket.shop).count() == 0
    assert "误选仅退款：引导改为退货退款" in titles(ticket)


# --- the admin ---

LIST = reverse("admin:aftersales_replytemplate_changelist")
ADD = reverse("admin:aftersales_replytemplate_add")


def test_a_supervisor_sees_the_defaults_and_their_shops_templates_only(client):
    mine, other = ShopFactory(name="本店"), ShopFactory(name="别家")
    ReplyTemplate.objects.create(shop=mine, title="本店话术", text="您好")
    ReplyTemplate.objects.create(shop=other, title="别家话术", text="您好")
    client.force_login(make_staff("lead", role="Supervisor", shops=[mine]))

    page = client.get(LIST).content.decode()

    assert "本店话术" in page
    assert "拦截承诺：已联系快递拦截" in page
    assert "别家话术" not in page
    assert "所有店铺（默认）" in page


def test_a_supervisor_adds_a_template_for_their_shop_and_a_bad_placeholder_is_a_form_error(client):
    mine, other = ShopFactory(), ShopFactory()
    client.force_login(make_staff("lead", role="Supervisor", shops=[mine]))
    form = {"title": "补发说明", "path": "2", "state": "", "text": "{buyer}，已为您补发，单号{waybill}"}
    form.update(sort_order="5", is_active="on")

    no_shop = client.post(ADD, form)
    elsewhere = client.post(ADD, {**form, "shop": other.pk})
    bad = client.post(ADD, {**form, "shop": mine.pk, "text": "{buyer} {order.shop.secret}"})
    good = client.post(ADD, {**form, "shop": mine.pk})

    assert no_shop.status_code == elsewhere.status_code == bad.status_code == 200
    assert no_shop.context["adminform"].form.errors == {"shop": ["该字段是必填项。"]}
    assert "未知的占位符：order.shop.secret" in bad.content.decode()
    assert good.status_code == 302
    assert list(ReplyTemplate.objects.filter(title="补发说明").values_list("shop", flat=True)) == [mine.pk]


def test_a_default_is_read_only_for_a_supervisor_and_nobody_in_a_role_deletes(client):
    default = ReplyTemplate.objects.get(shop=None, title="发货超时致歉与补偿")
    shop = ShopFactory()
    client.force_login(make_staff("lead", role="Supervisor", shops=[shop]))
    url = reverse("admin:aftersales_replytemplate_change", args=[default.pk])

    page = client.get(url)
    client.post(url, {"title": "改掉默认", "text": "x", "sort_order": "1", "shop": shop.pk})

    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()
    assert ReplyTemplate.objects.get(pk=default.pk).title == "发货超时致歉与补偿"
    assert client.post(reverse("admin:aftersales_replytemplate_delete", args=[default.pk])).status_code == 403


def test_an_agent_reads_templates_but_cannot_add_one(client):
    client.force_login(make_staff("agent", role="Agent", shops=[ShopFactory()]))

    assert client.get(LIST).status_code == 200
    assert client.get(ADD).status_code == 403


def test_the_ticket_page_offers_the_fitting_templates_filled_in(client):
    shop = ShopFactory()
    ticket = open_ticket(delivered_order(shop=shop, buyer_nick="tb_小林"), requested_amount="59.90")
    client.force_login(make_staff("agent", role="Agent", shops=[shop]))

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])).content.decode()

    assert 'id="reply-templates"' in page
    assert "tb_小林，您好！看到您申请的是「仅退款」" in page
    assert "退款¥59.90" in page
    assert "{buyer}" not in page
    assert "desk/replies.js" in page


def test_the_deadline_reads_in_shanghai_time():
    """2026-11-12 06:30 UTC is 14:30 in Shanghai; English readers get "11/12 14:30"."""
    from django.utils import translation

    ticket = open_ticket(delivered_order())
    moment = datetime(2026, 11, 12, 6, 30, tzinfo=ZoneInfo("UTC"))
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(deadline=moment, sla_due=moment)
    ticket = AfterSalesTicket.objects.select_related("order").get(pk=ticket.pk)

    assert values_for(ticket)["deadline"] == "11月12日 14:30"
    with translation.override("en"):
        assert values_for(ticket)["deadline"] == "11/12 14:30"


def test_the_template_list_runs_the_same_queries_for_few_and_for_many(client):
    from tests.aftersales.test_ticket_admin import count_queries

    shop = ShopFactory()
    client.force_login(make_staff("lead", role="Supervisor", shops=[shop]))
    ReplyTemplate.objects.create(shop=shop, title="话术0", text="您好", reason_id=None)
    few, _response = count_queries(client, LIST)
    late_shipping = ReplyTemplate.objects.get(shop=None, title="发货超时致歉与补偿").reason
    ReplyTemplate.objects.bulk_create(
        [ReplyTemplate(shop=shop, title=f"话术{n}", text="您好", reason=late_shipping) for n in range(1, 40)]
    )

    many, response = count_queries(client, LIST)

    assert many == few
    assert len(response.context["cl"].result_list) >= 40
