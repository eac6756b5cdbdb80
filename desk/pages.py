"""What the desk's own pages (receiving station, dashboards) share: the door (logged in, one of some permissions)
and the admin's header around a page that has no sidebar."""

from functools import wraps

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render


def permission_any(*permissions):
    """Logged in (else the admin's login page) and holding one of `permissions` (else 403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_active or not any(request.user.has_perm(name) for name in permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def render_page(request, template, context, *, title, section):
    """Render a page inside admin/base.html's header; no sidebar: these pages are for one job each."""
    user = request.user
    return render(
        request,
        template,
        {
            "site_header": admin.site.site_header,
            "site_title": admin.site.site_title,
            "site_url": None,
            "has_permission": user.is_active and user.is_staff,
            "is_popup": False,
            "is_nav_sidebar_enabled": False,
            "title": title,
            "section": section,
            **context,
        },
    )
