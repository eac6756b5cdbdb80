"""Reply templates' variables (快捷短语): a fixed set of named placeholders, `{buyer}`, `{amount}`, `{deadline}`,
`{courier}` and `{waybill}`, replaced by plain text.

The text a supervisor types is never run through a template engine: `{{ }}`, `{% %}`, attribute lookups or format
specs in it stay text, so a template cannot read anything but these five values. A value the ticket does not have
yet shows as its name in 【】, which the agent sees and fills in before sending (a buyer without a nickname is 亲).
"""

import re

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.money import format_yuan

PLACEHOLDERS = {
    "buyer": gettext_lazy("buyer's nickname"),
    "amount": gettext_lazy("amount (the requested amount, else what is left to refund)"),
    "deadline": gettext_lazy("deadline (the nearer of the platform deadline and our SLA)"),
    "courier": gettext_lazy("courier (the return's, else the outbound parcel's)"),
    "waybill": gettext_lazy("waybill (the return's, else the outbound parcel's)"),
}
_SHORT_LABELS = {
    "buyer": gettext_lazy("buyer"),
    "amount": gettext_lazy("amount"),
    "deadline": gettext_lazy("deadline"),
    "courier": gettext_lazy("courier"),
    "waybill": gettext_lazy("waybill"),
}
# `{name}` with a plain name only: `{0}`, `{a.b}`, `{a!r}` or `{a:>9}` are not placeholders (and not allowed).
_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,40})\}")


def placeholder_help() -> str:
    return "; ".join(f"{{{name}}} {label}" for name, label in PLACEHOLDERS.items())


def unknown_placeholders(text: str) -> list[str]:
    """The `{...}` in `text` that are not one of PLACEHOLDERS, in order of appearance, each once."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text or ""):
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return seen


def fill(text: str, values: dict[str, str | None]) -> str:
    """`text` with each known placeholder replaced by its value (or 【its name】 when the value is missing)."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        value = values.get(name)
        if value:
            return value
        # A buyer without a nickname is addressed the way agents address every buyer (亲).
        return _("dear customer") if name == "buyer" else f"【{_SHORT_LABELS[name]}】"

    return _PLACEHOLDER.sub(replace, text)


def values_for(ticket) -> dict[str, str | None]:
    """The placeholders' values for a ticket (its order loaded with it)."""
    order = ticket.order
    has_return = bool(ticket.return_tracking_number)
    amount = ticket.requested_amount or order.refundable_amount
    return {
        "buyer": order.buyer_nick or None,
        "amount": format_yuan(amount) if amount else None,
        "deadline": _local_moment(min(ticket.deadline, ticket.sla_due)),
        "courier": (ticket.return_courier_code if has_return else order.courier_code) or None,
        "waybill": (ticket.return_tracking_number if has_return else order.tracking_number) or None,
    }


def _local_moment(moment) -> str:
    local = timezone.localtime(moment)
    return _("%(month)d/%(day)d %(hour)02d:%(minute)02d") % {
        "month": local.month,
        "day": local.day,
        "hour": local.hour,
        "minute": local.minute,
    }
