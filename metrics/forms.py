"""The staffing forecast's form: it parses what the manager typed; metrics.staffing does the arithmetic."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.selectors import shops_for_user
from metrics.staffing import StaffingForecast, staffing_forecast

DEFAULT_DAILY_CAPACITY = 100
DEFAULT_DAYS = 7
INPUT_FIELDS = ("gmv", "refund_rate", "average_order_value", "daily_capacity", "days")
# What people type around a figure: "¥20,000,000", "20 000 000", full-width commas from a Chinese keyboard.
_DECORATION = str.maketrans("", "", ",， \u00a0¥￥%％")


class LenientDecimalField(forms.DecimalField):
    """A DecimalField that ignores thousands separators, spaces and the currency or percent sign."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.translate(_DECORATION)
        return super().to_python(value)


class LenientIntegerField(forms.IntegerField):
    def to_python(self, value):
        if isinstance(value, str):
            value = value.translate(_DECORATION)
        return super().to_python(value)


class StaffingForm(forms.Form):
    shop = forms.ModelChoiceField(
        label=_("shop"),
        queryset=None,
        required=False,
        empty_label=_("all my shops"),
        help_text=_("The figures below start from this shop's last 30 days."),
    )
    gmv = LenientDecimalField(
        label=_("GMV (CNY)"),
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Sales expected in the peak, e.g. 20,000,000."),
    )
    refund_rate = LenientDecimalField(
        label=_("refund rate (%)"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=7,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Percent of orders refunded, e.g. 5."),
    )
    average_order_value = LenientDecimalField(
        label=_("average order value (CNY)"),
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("GMV ÷ paid orders, e.g. 250."),
    )
    daily_capacity = LenientIntegerField(
        label=_("cases one agent finishes a day"),
        min_value=1,
        max_value=100_000,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("e.g. 100."),
    )
    days = LenientIntegerField(
        label=_("days to finish"),
        min_value=1,
        max_value=365,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("Days from the peak until every case is finished, e.g. 7."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops_for_user(user).order_by("name")
        for name in INPUT_FIELDS:
            # Text inputs, not type=number: the browser would refuse "20,000,000" before the server could read it.
            self.fields[name].widget.attrs.update({"autocomplete": "off", "size": 16})

    def clean_average_order_value(self):
        value = self.cleaned_data["average_order_value"]
        if value is not None and value <= 0:
            raise ValidationError(_("The average order value must be more than zero."), code="min_value")
        return value

    def forecast(self) -> StaffingForecast:
        """Call after is_valid(): the refund rate is typed in percent, the formula takes a fraction."""
        data = self.cleaned_data
        return staffing_forecast(
            gmv=data["gmv"],
            refund_rate=data["refund_rate"] / 100,
            average_order_value=data["average_order_value"],
            daily_capacity=data["daily_capacity"],
            days=data["days"],
        )
