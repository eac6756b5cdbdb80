"""Refund authorities (逐级授权): who may set whose limit, and the trail of every grant, change and revocation.

The rules, checked by `refund_authority_check` for every door (the admin's form shows them as form errors):

- A superuser (the shop owner) sets any authority, without limit.
- Anyone else needs the model permission (add, change or delete refund authority) and to work in the shop, and
  never sets their own authority or that of a group they belong to.
- A manager (the Manager group) sets the authority of agents, supervisors and any group in their shops, without a
  cap: managers do not refund tickets themselves, so their own refund authority is no measure of what they may
  delegate. Another manager's authority is the shop owner's decision.
- Anyone else with the permission (a supervisor) sets only individual agents' authority (members of the Agent
  group who are neither supervisors nor managers), and at most their own authority in the shop
  (selectors.refund_authority_for). Group rows and supervisors' rows are a manager's.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales import lock_objects, roles
from aftersales.models import ZERO, AuthorityGrantEvent, RefundAuthority, Shop
from aftersales.selectors import refund_authority_for, user_works_in_shop
from desk.errors import ActionRefused

ADD = "aftersales.add_refundauthority"
CHANGE = "aftersales.change_refundauthority"
DELETE = "aftersales.delete_refundauthority"


def refund_authority_check(
    *, shop: Shop, by, user=None, group=None, max_amount: Decimal | None, permission: str = ADD
) -> None:
    """Refuse (ActionRefused) unless `by` may set the authority of `user` or `group` in `shop` to `max_amount`
    (None when revoking) with `permission`. Writes nothing; the services call it again under their lock."""
    if (user is None) == (group is None):
        raise ActionRefused("invalid", _("Choose the user or the group this authority is for."))
    if max_amount is not None and max_amount < ZERO:
        raise ActionRefused("invalid_amount", _("The authority cannot be negative."))
    if max_amount is not None and user is not None and not user_works_in_shop(user, shop.pk):
        raise ActionRefused(
            "not_in_shop", _("%(who)s is not assigned to %(shop)s.") % {"who": user.get_username(), "shop": shop.name}
        )
    if by.is_superuser:
        return
    if not by.is_active or not by.has_perm(permission):
        raise ActionRefused("not_permitted", _("Your role does not allow this."))
    if not user_works_in_shop(by, shop.pk):
        raise ActionRefused("other_shop", _("You are not assigned to the shop “%(shop)s”.") % {"shop": shop.name})
    if user is not None and user.pk == by.pk:
        raise ActionRefused("own_authority", _("You cannot set your own authority; ask a manager or the shop owner."))
    if group is not None and by.groups.filter(pk=group.pk).exists():
        raise ActionRefused(
            "own_authority",
            _("You cannot set the authority of a group you belong to; ask a manager or the shop owner."),
        )
    if _in_role(by, roles.MANAGER):
        if user is not None and _in_role(user, roles.MANAGER):
            raise ActionRefused("not_permitted", _("A manager's authority is set by the shop owner (a superuser)."))
        return
    if group is not None:
        raise ActionRefused("not_permitted", _("A group's authority is set by a manager."))
    if not _is_agent(user):
        raise ActionRefused(
            "not_permitted",
            _("You may set the authority of agents only; a supervisor's or manager's is set by a manager."),
        )
    if max_amount is not None:
        own = refund_authority_for(user=by, shop_id=shop.pk)
        if own is not None and max_amount > own:
            raise ActionRefused(
                "over_authority",
                _("You may grant at most your own authority in %(shop)s, ¥%(own)s.") % {"shop": shop.name, "own": own},
            )


@transaction.atomic
def refund_authority_grant(*, shop: Shop, by, user=None, group=None, max_amount: Decimal) -> RefundAuthority:
    """Give `user` or `group` this authority in `shop` (a new row, or a change of theirs), and write the
    AuthorityGrantEvent, old → new. Setting the amount it already has writes nothing."""
    whom = {"user": user} if user is not None else {"group": group}
    existing = lock_objects.refund_authority_for_update(shop=shop, **whom) if (user or group) else None
    refund_authority_check(
        shop=shop, by=by, user=user, group=group, max_amount=max_amount, permission=CHANGE if existing else ADD
    )
    if existing is not None:
        old = existing.max_amount
        if old == max_amount:
            return existing
        existing.max_amount = max_amount
        existing.save(update_fields=["max_amount"])
        authority, action = existing, AuthorityGrantEvent.Action.CHANGED
    else:
        old = None
        try:
            with transaction.atomic():
                authority = RefundAuthority.objects.create(shop=shop, max_amount=max_amount, **whom)
        except IntegrityError:
            # Another grant for the same person or group came first; change that one instead.
            raise ActionRefused(
                "already_granted", _("This authority was just set by someone else; reload and change that one.")
            ) from None
        action = AuthorityGrantEvent.Action.GRANTED
    AuthorityGrantEvent.objects.create(
        shop=shop, actor=by, action=action, old_amount=old, new_amount=max_amount, **whom
    )
    return authority


@transaction.atomic
def refund_authority_revoke(*, authority: RefundAuthority, by) -> None:
    """Remove an authority (the user or group falls back to what their groups give) and write its event."""
    locked = lock_objects.refund_authority_by_pk_for_update(authority.pk)
    if locked is None:
        return
    refund_authority_check(
        shop=locked.shop, by=by, user=locked.user, group=locked.group, max_amount=None, permission=DELETE
    )
    AuthorityGrantEvent.objects.create(
        shop=locked.shop,
        actor=by,
        action=AuthorityGrantEvent.Action.REVOKED,
        user=locked.user,
        group=locked.group,
        old_amount=locked.max_amount,
        new_amount=None,
    )
    locked.delete()


def _in_role(user, role: str) -> bool:
    return user.groups.filter(name=role).exists()


def _is_agent(user) -> bool:
    names = set(user.groups.values_list("name", flat=True))
    return roles.AGENT in names and not names & {roles.SUPERVISOR, roles.MANAGER}
