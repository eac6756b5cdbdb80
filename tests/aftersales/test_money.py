"""Money reads as people read it: yuan to the fen, half up, with the ¥ sign (aftersales/money.py)."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from aftersales.money import format_yuan, to_yuan


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("5628.10000000000"), "¥5628.10"),  # SQLite's SUM, read by Django to 15 digits
        (Decimal("157578.700000000"), "¥157578.70"),
        (0.1 + 0.2, "¥0.30"),  # a float goes through its shortest text, not 0.3000000000000000444
        (Decimal("2.005"), "¥2.01"),  # half up, not to even
        (Decimal("2.015"), "¥2.02"),
        (200, "¥200.00"),  # SQLite's MAX of a decimal column can be an int
        (Decimal("-0.001"), "¥0.00"),  # never "¥-0.00"
        ("12.5", "¥12.50"),
        (Decimal("1000000000000000000000000000000.50"), "¥1000000000000000000000000000000.50"),
        (None, ""),
    ],
)
def test_an_amount_is_shown_in_yuan_with_two_decimals(value, shown):
    assert format_yuan(value) == shown


def test_a_text_that_writes_the_yuan_sign_itself_gets_the_figure_alone():
    assert format_yuan(Decimal("83.900000000000"), sign=False) == "83.90"
    assert to_yuan(Decimal("83.900000000000")) == Decimal("83.90")
    assert str(to_yuan(Decimal("83.900000000000"))) == "83.90"


def test_what_is_not_an_amount_is_refused_by_the_helper_and_shown_as_it_is_by_the_filter():
    with pytest.raises(ValueError, match="not an amount"):
        format_yuan("NaN")
    template = Template("{% load money %}{{ a|yuan }} {{ b|yuan_amount }} {{ c|yuan }}|{{ d|yuan|default:'—' }}")
    rendered = template.render(
        Context({"a": Decimal("5628.10000000000"), "b": Decimal("1883.900000000000"), "c": "n/a", "d": None})
    )
    assert rendered == "¥5628.10 1883.90 n/a|—"
