"""A shop's after-sales settings: who may change them, what values they take, and the trail of every change.

The settings are the fields of SHOP_SETTINGS, each with the check its values pass. A new setting is one more entry
there (and its field on Shop); the shop's page, the checks and the ShopEvent trail follow from it.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import cast

from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.lock_objects import shop_for_update
from aftersales.models import MAX_SETTING_HOURS, MAX_SETTING_MINUTES, ZERO, Shop, ShopEvent
from aftersales.selectors import user_works_in_shop
from desk.errors import ActionRefused

# Managers hold it (migration 0003); agents and supervisors only read the shop.
CHANGE_SHOP = "aftersales.change_shop"
LARGEST_AMOUNT = Decimal("9999999999.99")  # what MoneyField's twelve digits hold


class SettingRefused(ActionRefused):
    """A value a setting does not take; `field` names the setting, so a form shows the message on it."""

    def __init__(self, field: str, message):
        super().__init__("invalid_setting", message)
        self.field = field


def _label(name: str) -> str:
    # Every setting is a column of Shop, never a relation, so the field has a verbose name.
    return str(cast(Field, Shop._meta.get_field(name)).verbose_name)


def _switch(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise SettingRefused(name, _("“%(setting)s” is on or off.") % {"setting": _label(name)})
    return value


def _whole_number(low: int, high: int) -> Callable[[str, object], int]:
    def check(name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingRefused(
                name,
                _("“%(setting)s” must be a whole number from %(low)d to %(high)d.")
                % {"setting": _label(name), "low": low, "high": high},
            )
        return value

    return check


def _amount(name: str, value) -> Decimal:
    try:
        amount = Decimal(value) if isinstance(value, Decimal | int | str) and not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount < ZERO or amount > LARGEST_AMOUNT:
        raise SettingRefused(name, _("“%(setting)s” must be an amount of at least ¥0.00.") % {"setting": _label(name)})
    if amount != amount.quantize(Decimal("0.01")):
        raise SettingRefused(name, _("“%(setting)s” has at most two decimals.") % {"setting": _label(name)})
    return amount.quantize(Decimal("0.01"))


def _choice(name: str, value) -> str:
    choices = cast(Field, Shop._meta.get_field(name)).choices or []
    allowed = [str(key) for key, _label_text in choices]
    if not isinstance(value, str) or value not in allowed:
        raise SettingRefused(name, _("Choose one of the values offered for “%(setting)s”.") % {"setting": _label(name)})
    return value


# setting -> the check its new value passes (returns the value as stored)
SHOP_SETTINGS: dict[str, Callable[[str, object], object]] = {
    "auto_refund_enabled": _switch,
    "auto_refund_max_amount": _amount,
    "approval_due_hours": _whole_number(1, MAX_SETTING_HOURS),
    "sla_hours": _whole_number(1, MAX_SETTING_HOURS),
    "path1_sla_minutes": _whole_number(1, MAX_SETTING_MINUTES),
    "deadline_warning_hours": _whole_number(1, MAX_SETTING_HOURS),
    "unconfirmed_refund_hours": _whole_number(1, MAX_SETTING_HOURS),
    "cutoff_answer_hours": _whole_number(1, MAX_SETTING_HOURS),
    "lost_parcel_remedy": _choice,
    "refund_on_receipt_enabled": _switch,
    "refund_on_receipt_limited": _switch,
    "refund_on_receipt_max_amount": _amount,
}
SHOP_SETTINGS_FIELDS = tuple(SHOP_SETTINGS)


def shop_settings_check(*, shop: Shop, by, changes: dict) -> dict:
    """Refuse (ActionRefused; SettingRefused for a bad value) unless `by` may set these settings of `shop` to these
    values; return the values as they would be stored. Writes nothing; shop_update_settings calls it again."""
    if not by.is_active or not by.has_perm(CHANGE_SHOP):
        raise ActionRefused("not_permitted", _("Only a manager changes a shop's settings."))
    if not by.is_superuser and not user_works_in_shop(by, shop.pk):
        raise ActionRefused("other_shop", _("You are not assigned to the shop “%(shop)s”.") % {"shop": shop.name})
    unknown = sorted(set(changes) - set(SHOP_SETTINGS))
    if unknown:
        raise ActionRefused(
            "not_a_setting", _("These are not settings of a shop: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    return {name: SHOP_SETTINGS[name](name, value) for name, value in changes.items()}


@transaction.atomic
def shop_update_settings(*, shop: Shop, by, changes: dict) -> list[ShopEvent]:
    """Set the given settings of `shop` ({field: new value}, fields of SHOP_SETTINGS) and write one ShopEvent per
    setting whose value changes, old → new; the same values again write nothing. Only someone holding change_shop
    who works in the shop (a manager; a superuser anywhere). Returns the events written."""
    values = shop_settings_check(shop=shop, by=by, changes=changes)
    locked = shop_for_update(shop.pk)
    now = timezone.now()
    events = []
    for name, value in values.items():
        old = getattr(locked, name)
        if old == value:
            continue
        setattr(locked, name, value)
        events.append(
            ShopEvent(shop=locked, actor=by, at=now, field=name, old_value=_as_text(old), new_value=_as_text(value))
        )
    if events:
        locked.save(update_fields=[event.field for event in events])
        ShopEvent.objects.bulk_create(events)
    for name in values:
        setattr(shop, name, getattr(locked, name))
    return events


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return str(value)
