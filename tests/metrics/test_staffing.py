"""人员配备: the formula on the domain's worked example, its rounding, the inputs taken from a shop's last 30 days,
and the page — who may open it, whose figures it shows, and that bad input is a form error, never a 500."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from aftersales import roles
from aftersales.models import TicketKind
from metrics.staffing import staffing_forecast, staffing_inputs_from_history
from tests.factories import OrderFactory, ShopFactory, make_staff, open_ticket

STAFFING = reverse("metrics:staffing")
WORKED_EXAMPLE = {
    "gmv": "20000000",
    "refund_rate": "5",
    "average_order_value": "250",
    "daily_capacity": "100",
    "days": "7",
}


def forecast(gmv, refund_rate, average_order_value, daily_capacity=100, days=7):
    return staffing_forecast(
        gmv=Decimal(gmv),
        refund_rate=Decimal(refund_rate),
        average_order_value=Decimal(average_order_value),
        daily_capacity=daily_capacity,
        days=days,
    )


def paid_order(shop, paid_at, amount):
    """A delivered order (so a refund request is path 3 and no path-1 rule acts on it)."""
    return OrderFactory(
        shop=shop,
        paid_at=paid_at,
        paid_amount=Decimal(amount),
        shipped_at=paid_at + timedelta(hours=1),
        delivered_at=paid_at + timedelta(hours=2),
    )


def refund_requested(order, opened_at, kind=TicketKind.REFUND_ONLY):
    return open_ticket(order, kind=kind, opened_at=opened_at)


def input_value(html: str, name: str) -> str | None:
    """The value attribute of the text input `name` in the page, or None when it has none (left empty)."""
    start = html.index(f'name="{name}"')
    tag = html[html.rindex("<input", 0, start) : html.index(">", start)]
    if 'value="' not in tag:
        return None
    return tag.split('value="', 1)[1].split('"', 1)[0]


# --- the formula ---------------------------------------------------------------------------------------------------


def test_the_worked_example_gives_4000_refunds_1600_other_5600_cases_and_8_agents():
    """¥20,000,000 × 5% ÷ ¥250 = 4,000 refunds; 4,000 × 40% = 1,600; 4,000 + 1,600 = 5,600; 5,600 ÷ 100 ÷ 7 = 8."""
    result = forecast("20000000", "0.05", "250")

    assert (result.refunds, result.other_after_sales, result.total, result.agents) == (4000, 1600, 5600, 8)
    assert (result.gmv, result.refund_rate, result.average_order_value) == (Decimal(20000000), Decimal("0.05"), 250)
    assert (result.daily_capacity, result.days) == (100, 7)


def test_one_case_more_than_eight_agents_finish_in_a_week_needs_a_ninth():
    """¥20,005,000 × 5% ÷ ¥250 = 4,001 refunds; 4,001 × 40% = 1,600.4 → 1,600; 5,601 ÷ 100 ÷ 7 = 8.001 → 9."""
    result = forecast("20005000", "0.05", "250")

    assert (result.refunds, result.other_after_sales, result.total, result.agents) == (4001, 1600, 5601, 9)


def test_cases_are_rounded_half_up_to_whole_cases_and_other_after_sales_is_40_percent_of_the_rounded_refunds():
    """¥1,000 × 5% ÷ ¥20 = 2.5 → 3 refunds (half up, not to even); 3 × 40% = 1.2 → 1; 4 cases ÷ 100 ÷ 7 → 1 agent.
    ¥999 × 5% ÷ ¥20 = 2.4975 → 2 refunds; 2 × 40% = 0.8 → 1; 3 cases → 1 agent."""
    half = forecast("1000", "0.05", "20")
    below_half = forecast("999", "0.05", "20")

    assert (half.refunds, half.other_after_sales, half.total, half.agents) == (3, 1, 4, 1)
    assert (below_half.refunds, below_half.other_after_sales, below_half.total, below_half.agents) == (2, 1, 3, 1)


def test_half_a_case_is_exactly_half_in_decimal_arithmetic():
    """¥14.70 × 5% ÷ ¥0.07 = 10.5 exactly → 11 refunds; in floats it is 10.499999999999998 and would round to 10.
    11 × 40% = 4.4 → 4; 15 cases → 1 agent."""
    result = forecast("14.70", "0.05", "0.07")

    assert (result.refunds, result.other_after_sales, result.total) == (11, 4, 15)


def test_no_sales_need_no_agents():
    """¥0 × 5% ÷ ¥250 = 0 refunds, 0 other, 0 cases → 0 agents (rounding up never invents a person)."""
    result = forecast("0", "0.05", "250")

    assert (result.refunds, result.other_after_sales, result.total, result.agents) == (0, 0, 0, 0)


def test_the_largest_inputs_the_form_accepts_are_worked_out_exactly():
    """¥999,999,999,999.99 × 100% ÷ ¥0.01 = 99,999,999,999,999 refunds;
    × 40% = 39,999,999,999,999.6 → 40,000,000,000,000; total 139,999,999,999,999; ÷ 1 ÷ 1 → that many agents."""
    result = forecast("999999999999.99", "1", "0.01", daily_capacity=1, days=1)

    assert result.refunds == 99_999_999_999_999
    assert result.other_after_sales == 40_000_000_000_000
    assert result.agents == 139_999_999_999_999


def test_figures_beyond_decimals_default_precision_keep_their_last_half_case():
    """¥1,000,000,000,000,000,000,000,000,000,000.50 × 100% ÷ ¥1 = 10^30 + 0.5 refunds (31 digits) → 10^30 + 1."""
    result = forecast("1" + "0" * 30 + ".50", "1", "1")

    assert result.refunds == 10**30 + 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("average_order_value", "0"),
        ("average_order_value", "-1"),
        ("gmv", "-0.01"),
        ("refund_rate", "1.01"),
        ("refund_rate", "-0.01"),
        ("gmv", "NaN"),
        ("daily_capacity", 0),
        ("days", 0),
    ],
)
def test_the_formula_refuses_inputs_it_has_no_answer_for(field, value):
    arguments = {
        "gmv": Decimal(20000000),
        "refund_rate": Decimal("0.05"),
        "average_order_value": Decimal(250),
        "daily_capacity": 100,
        "days": 7,
    }
    arguments[field] = Decimal(value) if isinstance(value, str) else value

    with pytest.raises(ValueError, match=field):
        staffing_forecast(**arguments)


# --- the last 30 days ----------------------------------------------------------------------------------------------


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外天猫旗舰店")


@pytest.fixture
def other_shop():
    return ShopFactory(name="别家店铺")


@pytest.fixture
def history(shop, other_shop, now):
    """Shop: four orders paid in the 30 days, ¥100 + ¥300 + ¥200 + ¥400 = ¥1,000; two of them (one with two
    requests) have a refund-type ticket opened in the window, one has only an exchange. Outside the window: an order
    paid 31 days ago for ¥5,000 whose refund was opened 30 days and an hour ago. The other shop: one ¥1,500 order
    paid yesterday, refunded."""
    day = timedelta(days=1)
    refunded_twice = paid_order(shop, now - day, "100.00")
    refund_requested(refunded_twice, now - timedelta(hours=12))
    refund_requested(refunded_twice, now - timedelta(hours=6))
    returned = paid_order(shop, now - 10 * day, "300.00")
    refund_requested(returned, now - 5 * day, kind=TicketKind.RETURN_REFUND)
    exchanged = paid_order(shop, now - 20 * day, "200.00")
    refund_requested(exchanged, now - 15 * day, kind=TicketKind.EXCHANGE)
    paid_order(shop, now - 29 * day, "400.00")
    old = paid_order(shop, now - 31 * day, "5000.00")
    refund_requested(old, now - 30 * day - timedelta(hours=1))
    elsewhere = paid_order(other_shop, now - day, "1500.00")
    refund_requested(elsewhere, now - timedelta(hours=3))


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
def test_the_inputs_come_from_the_shops_own_last_30_days(shop, now, django_assert_num_queries):
    """4 orders paid in the window, ¥1,000; 2 distinct orders with a refund-only or return ticket (the exchange does
    not count, the twice-refunded order counts once) → 2 ÷ 4 = 50%; ¥1,000 ÷ 4 = ¥250. The older order, its refund
    and the other shop's order stay out."""
    with django_assert_num_queries(2):
        inputs = staffing_inputs_from_history(shops=[shop], now=now)

    assert inputs["paid_orders"] == 4
    assert inputs["refunded_orders"] == 2
    assert inputs["gmv"] == Decimal("1000.00")
    assert inputs["refund_rate"] == Decimal("0.5")
    assert inputs["average_order_value"] == Decimal("250.00")
    assert inputs["until"] - inputs["since"] == timedelta(days=30)


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
def test_the_inputs_of_several_shops_add_up(shop, other_shop, now):
    """Both shops: 5 orders, ¥1,000 + ¥1,500 = ¥2,500; 3 refunded orders → 60%; ¥2,500 ÷ 5 = ¥500."""
    inputs = staffing_inputs_from_history(shops=[shop, other_shop], now=now)

    assert (inputs["paid_orders"], inputs["refunded_orders"]) == (5, 3)
    assert (inputs["gmv"], inputs["refund_rate"], inputs["average_order_value"]) == (
        Decimal("2500.00"),
        Decimal("0.6"),
        Decimal("500.00"),
    )


@pytest.mark.django_db
def test_the_window_is_the_30_days_up_to_now_from_its_first_second(shop, now):
    """Paid exactly 30 days before now: in (¥10); a second earlier: out (¥20); exactly now: out (¥40)."""
    paid_order(shop, now - timedelta(days=30), "10.00")
    paid_order(shop, now - timedelta(days=30, seconds=1), "20.00")
    paid_order(shop, now, "40.00")

    inputs = staffing_inputs_from_history(shops=[shop], now=now)

    assert (inputs["paid_orders"], inputs["gmv"]) == (1, Decimal("10.00"))


@pytest.mark.django_db
def test_a_refund_opened_in_the_window_counts_whenever_its_order_was_paid(shop, now):
    """Like the platforms' refund rate: 1 order paid in the window, and an order paid 40 days ago refunded
    yesterday → 1 refunded order ÷ 1 paid order = 100%. GMV and average order value only count the paid one."""
    paid_order(shop, now - timedelta(days=2), "80.00")
    refund_requested(paid_order(shop, now - timedelta(days=40), "999.00"), now - timedelta(days=1))

    inputs = staffing_inputs_from_history(shops=[shop], now=now)

    assert (inputs["gmv"], inputs["refund_rate"], inputs["average_order_value"]) == (
        Decimal("80.00"),
        Decimal(1),
        Decimal("80.00"),
    )


@pytest.mark.django_db
def test_a_shop_without_orders_in_the_window_has_no_data_not_zero(shop, now):
    """Only an order paid 31 days ago: no paid order in the window, so GMV, refund rate and AOV are unknown."""
    paid_order(shop, now - timedelta(days=31), "100.00")

    inputs = staffing_inputs_from_history(shops=[shop], now=now)

    assert inputs["paid_orders"] == 0
    assert (inputs["gmv"], inputs["refund_rate"], inputs["average_order_value"]) == (None, None, None)


# --- the page ------------------------------------------------------------------------------------------------------


@pytest.fixture
def manager(shop):
    return make_staff("manager", role=roles.MANAGER, shops=[shop])


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
def test_the_page_starts_from_the_users_shops_last_30_days_and_the_default_capacity_and_days(client, manager):
    """The manager works only in the first shop: ¥1,000, 50%, ¥250 (the other shop's ¥1,500 stays out), 100 a day,
    7 days; nothing is calculated yet."""
    client.force_login(manager)

    response = client.get(STAFFING)

    html = response.content.decode()
    assert response.status_code == 200
    assert input_value(html, "gmv") == "1000.00"
    assert input_value(html, "refund_rate") == "50.00"
    assert input_value(html, "average_order_value") == "250.00"
    assert input_value(html, "daily_capacity") == "100"
    assert input_value(html, "days") == "7"
    assert 'id="staffing-history"' in html
    assert "别家店铺" not in html  # not even among the shop choices
    assert 'id="staffing-result"' not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
def test_choosing_one_of_the_users_shops_fills_in_that_shops_figures(client, shop, other_shop):
    """A manager of both shops: all of them by default (¥2,500, 60%, ¥500); ?shop= the other one gives ¥1,500,
    100%, ¥1,500."""
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop, other_shop]))

    both = client.get(STAFFING).content.decode()
    one = client.get(STAFFING, {"shop": other_shop.pk}).content.decode()

    assert (input_value(both, "gmv"), input_value(both, "refund_rate")) == ("2500.00", "60.00")
    assert input_value(both, "average_order_value") == "500.00"
    assert (input_value(one, "gmv"), input_value(one, "refund_rate")) == ("1500.00", "100.00")
    assert input_value(one, "average_order_value") == "1500.00"
    assert f'<option value="{other_shop.pk}" selected>' in one


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("with_inputs", [False, True])
def test_another_shops_id_is_not_found_and_shows_none_of_its_figures(client, manager, other_shop, with_inputs):
    client.force_login(manager)
    query = {"shop": other_shop.pk, **(WORKED_EXAMPLE if with_inputs else {})}

    response = client.get(STAFFING, query)

    assert response.status_code == 404
    assert "1500" not in response.content.decode()
    assert "别家店铺" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("shop_id", ["abc", "-1", "999999"])
def test_a_shop_id_that_is_not_one_of_the_users_shops_is_not_found(client, manager, shop_id):
    client.force_login(manager)

    assert client.get(STAFFING, {"shop": shop_id}).status_code == 404


@pytest.mark.django_db
def test_a_shop_without_recent_orders_leaves_the_inputs_empty_and_says_there_is_no_data(client, manager, shop, now):
    paid_order(shop, now - timedelta(days=45), "100.00")
    client.force_login(manager)

    response = client.get(STAFFING)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="staffing-no-data"' in html
    assert 'id="staffing-history"' not in html
    assert (input_value(html, "gmv"), input_value(html, "refund_rate")) == (None, None)
    assert input_value(html, "average_order_value") is None
    assert (input_value(html, "daily_capacity"), input_value(html, "days")) == ("100", "7")


@pytest.mark.django_db
def test_the_worked_example_typed_in_gives_8_agents_at_a_shareable_address(client, manager):
    """Submitting is a GET: the address alone reproduces 4,000 + 1,600 = 5,600 → 8 agents."""
    client.force_login(manager)

    response = client.get(STAFFING, WORKED_EXAMPLE)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["forecast"].agents == 8
    assert 'id="staffing-refunds">4000<' in html
    assert 'id="staffing-other">1600<' in html
    assert 'id="staffing-total">5600<' in html
    assert 'id="staffing-agents">8<' in html


@pytest.mark.django_db
def test_figures_typed_with_separators_and_signs_are_read(client, manager):
    """¥20,005,000 (full-width comma too), 5%, ¥250 → 4,001 + 1,600 = 5,601 → 9 agents."""
    client.force_login(manager)
    query = {**WORKED_EXAMPLE, "gmv": "¥20,005，000", "refund_rate": "5%", "average_order_value": "￥250"}

    response = client.get(STAFFING, query)

    assert response.context["form"].errors == {}
    assert 'id="staffing-agents">9<' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
def test_the_fill_in_button_replaces_typed_figures_with_the_shops_history(client, manager):
    client.force_login(manager)

    response = client.get(STAFFING, {**WORKED_EXAMPLE, "fill": "1"})

    html = response.content.decode()
    assert input_value(html, "gmv") == "1000.00"
    assert response.context["forecast"] is None
    assert 'id="staffing-result"' not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gmv", "100000000000000000000"),
        ("gmv", "1e400"),
        ("gmv", "-1"),
        ("gmv", "abc"),
        ("gmv", "NaN"),
        ("gmv", "Infinity"),
        ("gmv", "0.001"),
        ("gmv", ""),
        ("refund_rate", "100.01"),
        ("refund_rate", "-5"),
        ("average_order_value", "0"),
        ("average_order_value", "0.00"),
        ("average_order_value", "-250"),
        ("daily_capacity", "0"),
        ("daily_capacity", "1.5"),
        ("daily_capacity", "9" * 5000),
        ("days", "0"),
        ("days", "100000000000000000000000000000"),
        ("days", "seven"),
    ],
)
def test_bad_input_is_a_form_error_on_its_field_and_nothing_is_calculated(client, manager, field, value):
    client.force_login(manager)

    response = client.get(STAFFING, {**WORKED_EXAMPLE, field: value})

    html = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert response.context["forecast"] is None
    assert 'class="errorlist' in html
    assert 'id="staffing-result"' not in html


@pytest.mark.django_db
def test_a_zero_average_order_value_says_it_must_be_more_than_zero(client, manager):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are checked in English
    client.force_login(manager)

    response = client.get(STAFFING, {**WORKED_EXAMPLE, "average_order_value": "0"}, headers={"accept-language": "en"})

    assert response.context["form"].errors["average_order_value"] == ["The average order value must be more than zero."]


@pytest.mark.django_db
def test_the_page_shows_the_formula_and_the_worked_example_beside_the_figure(client, manager):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are checked in English
    client.force_login(manager)

    html = client.get(STAFFING, WORKED_EXAMPLE).content.decode()

    assert 'id="staffing-definition"' in html
    assert "4,000 × 40% = 1,600" in html
    assert "5,600 cases ÷ 100 a day ÷ 7 days = 8 agents" in html


@pytest.mark.django_db
def test_the_page_is_in_chinese_by_default(client, manager):
    """An English-asking browser still gets Chinese. Checked on strings the catalogue already translates (the page's
    own new strings wait for the catalogue)."""
    client.force_login(manager)

    response = client.get(STAFFING, headers={"accept-language": "en-US,en;q=0.9"})

    html = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans"' in html
    assert "售后工作台" in html
    assert "返回后台" in html
    assert "店铺" in html


# --- who may open it -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [(roles.MANAGER, 200), (roles.SUPERVISOR, 200), (roles.AGENT, 403)])
def test_managers_and_supervisors_read_the_forecast_and_agents_are_refused(client, shop, role, status):
    client.force_login(make_staff("someone", role=role, shops=[shop]))

    assert client.get(STAFFING).status_code == status
    assert client.get(STAFFING, WORKED_EXAMPLE).status_code == status


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(STAFFING, WORKED_EXAMPLE)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('admin:login')}?next=/metrics/staffing/")


@pytest.mark.django_db
def test_the_page_only_answers_get(client, manager):
    client.force_login(manager)

    assert client.post(STAFFING, WORKED_EXAMPLE).status_code == 405


@pytest.mark.django_db
def test_the_form_starts_from_a_gmv_with_two_decimals_whatever_places_the_sum_came_with(client, manager, monkeypatch):
    """SQLite hands the GMV sum back as 157578.700000000; the form shows what a person would type, 157578.70, and the
    history line ¥157578.70 and ¥525.26 (157578.70 ÷ 300)."""
    from metrics.views import staffing as views_staffing

    def history_with_residue(*, shops):
        return {
            "since": timezone.now() - timedelta(days=30),
            "until": timezone.now(),
            "paid_orders": 300,
            "refunded_orders": 12,
            "gmv": Decimal("157578.700000000"),
            "refund_rate": Decimal("0.04"),
            "average_order_value": Decimal("525.262333333333"),
        }

    monkeypatch.setattr(views_staffing, "staffing_inputs_from_history", history_with_residue)
    client.force_login(manager)

    html = client.get(STAFFING).content.decode()

    assert input_value(html, "gmv") == "157578.70"
    assert input_value(html, "average_order_value") == "525.26"
    assert "¥157578.70" in html
    assert "157578.700" not in html
