"""Each role's own start (issue 23): where a person lands after logging in and when they open the admin's home.

Warehouse clerks land on the receiving station, agents on their ticket queue, supervisors on the approval queue,
managers on the metrics dashboard. Superusers and people in no role keep the admin's home, and so does anyone who
asks for every menu (`/admin/?menu=1`, the "back to the admin" links of the desk pages). Someone in several roles
lands on the start of the widest one (manager, supervisor, agent, warehouse).
"""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from aftersales import roles

# (role, the page it starts on, the permission that page needs), widest role first.
START_PAGES = [
    (roles.MANAGER, "metrics:dashboard", "metrics.view_dashboard"),
    (roles.SUPERVISOR, "admin:aftersales_approvalrequest_changelist", "aftersales.view_approvalrequest"),
    (roles.AGENT, "admin:aftersales_aftersalesticket_changelist", "aftersales.view_aftersalesticket"),
    (roles.WAREHOUSE, "warehouse:station", "aftersales.handle_returns"),
]
ALL_MENUS_PARAMETER = "menu"


def start_page_for(user) -> str | None:
    """The URL this user starts on, or None for the admin's home."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return None
    names = set(user.groups.values_list("name", flat=True))
    for role, url_name, permission in START_PAGES:
        if role in names and user.has_perm(permission):
            return reverse(url_name)
    return None


def admin_home(request):
    """The admin's home for those who start there or ask for every menu; everyone else goes to their start page."""
    if ALL_MENUS_PARAMETER not in request.GET and request.user.is_authenticated and request.user.is_staff:
        target = start_page_for(request.user)
        if target:
            return redirect(target)
    return admin.site.admin_view(admin.site.index)(request)
