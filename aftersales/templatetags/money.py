"""`{% load money %}`: `{{ amount|yuan }}` → "¥5628.10"; `{{ amount|yuan_amount }}` → "5628.10", for a translated
text that writes the ¥ itself. Nothing for no amount (chain `default` for a dash). See aftersales/money.py."""

from django import template

from aftersales.money import format_yuan

register = template.Library()


@register.filter
def yuan(value) -> str:
    try:
        return format_yuan(value)
    except ValueError:  # not an amount: shown as it is rather than failing the page
        return str(value)


@register.filter
def yuan_amount(value) -> str:
    try:
        return format_yuan(value, sign=False)
    except ValueError:
        return str(value)
