"""How a figure reads on a page: a rate as a percentage, hours with "h", money in yuan, a platform's score as it is;
no value is "no data"."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from aftersales.money import format_yuan

register = template.Library()


@register.filter
def figure(value, unit: str):
    if value is None:
        return format_html('<span class="metrics-no-data">{}</span>', _("no data"))
    if unit == "rate":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"
    if unit == "money":
        return format_yuan(value)
    if unit == "seconds":
        return f"{value} s"
    if unit == "points":
        return str(value)
    return f"{value} h"
