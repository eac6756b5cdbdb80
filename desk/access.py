"""Who may act where: the shops a user is assigned to, the system user the automatic rules act as, the role
permissions the services check, and `require_in_shop`, the check every app's services make of their actor.

A user works in a shop through django-guardian's object permission `aftersales.work_in_shop` (directly or through a
group); the role (Agent, Supervisor, Warehouse, Manager) brings the model permissions named here.
"""

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from aftersales.models import Shop, ShopGroupObjectPermission, ShopUserObjectPermission
from desk.errors import ActionRefused

# The role permissions the services check (migrations give them to the roles' groups).
WORK = "aftersales.work_ticket"
OPEN = "aftersales.add_aftersalesticket"
DECIDE = "aftersales.decide_approvalrequest"
HANDLE_RETURNS = "aftersales.handle_returns"
CONFIRM_CUTOFF = "aftersales.confirm_cutoffrequest"

SHOP_PERMISSION_CODENAME = "work_in_shop"
SHOP_PERMISSION = f"aftersales.{SHOP_PERMISSION_CODENAME}"


def shops_for_user(user) -> QuerySet[Shop]:
    """The shops a user is assigned to, directly or through a group, as one lazy query.

    Superusers see every shop. The result is meant to be used as a subquery (`shop__in=`), so a list costs no
    extra query per row and no guardian lookups.
    """
    if not user.is_authenticated or not user.is_active:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    permission = {
        "permission__codename": SHOP_PERMISSION_CODENAME,
        "permission__content_type__app_label": "aftersales",
    }
    assigned_directly = ShopUserObjectPermission.objects.filter(content_object=OuterRef("pk"), user=user, **permission)
    assigned_through_group = ShopGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), group__user=user, **permission
    )
    return Shop.objects.filter(Exists(assigned_directly) | Exists(assigned_through_group))


def user_works_in_shop(user, shop_id: int) -> bool:
    return shops_for_user(user).filter(pk=shop_id).exists()


def user_covers_all_shops(user, shop_ids) -> bool:
    """Whether the user is assigned to every one of `shop_ids` (a list or a queryset of ids). Rows that several shops
    share (a platform, a courier) are changed only by such a user, so nobody changes what another shop works under."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return not Shop.objects.filter(pk__in=shop_ids).exclude(pk__in=shops_for_user(user)).exists()


# The user the automatic rules act as, created by migration 0006; it cannot log in.
SYSTEM_USERNAME = "system"


def system_user():
    user, _created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "password": "!"}
    )
    return user


def is_system_user(user) -> bool:
    return user.get_username() == SYSTEM_USERNAME


def require_in_shop(by, shop, permission: str) -> None:
    """Refuse unless `by` holds `permission` and works in `shop`; the system user always may. Every app's
    services check their actor with this."""
    if is_system_user(by):
        return
    if not by.is_active or not by.has_perm(permission):
        raise ActionRefused("not_permitted", _("Your role does not allow this."))
    if not user_works_in_shop(by, shop.pk):
        raise ActionRefused("other_shop", _("You are not assigned to the shop “%(shop)s”.") % {"shop": shop.name})
