"""Every page a demo role may open, on whatever database Django is set up with (issue 17, point 1).

`crawl()` logs in as every demo user and GETs every desk page (enumerated from the URLconf) and every admin index,
changelist, add page, change page of the first object and extra page without arguments (enumerated from
`admin.site._registry`), the ones the role may reach as the admin itself decides. Each visit is a dict of role, URL and
status, with the money strings that show float residue (`¥`, or a form's money input, and more than two decimals)
found in the page, the money inputs and the list totals.

Run as a script (`python -m tests.page_crawl`) it migrates the database of the environment it is given, loads the
demo and prints the visits as JSON on the last line: tests/test_every_page.py runs it so on the embedded default
(SQLite in a fresh VAR_DIR), in a process of its own, and calls `crawl()` in-process on PostgreSQL.
"""

import json
import re
import sys

# Desk routes that take arguments: how to fill them from the demo, by URL name. A new route with arguments must be
# added here or to NOT_PAGES, or the crawl stops and names it.
NOT_PAGES = {
    # Pushes from couriers' tracking aggregators: POST with a signature, no page.
    "logistics:kuaidi100_push",
    "logistics:kdniao_push",
    "logistics:tracking_push",
    # Kuaidi100's intercept callback: POST with the salt's signature, no page.
    "logistics:kuaidi100_intercept_callback",
    # Pushes from the marketplaces (TMC relay, 抖店 push): POST with the platform's signature, no page.
    "marketplaces:push",
    # Answers a form on the cut-offs page (POST only).
    "warehouse:cutoff_answer",
    # The receiving station's form for a parcel nobody announced (POST only).
    "warehouse:register_unexpected",
    # The language switch (POST only).
    "set_language",
    "healthz",
}
SKIPPED_PREFIXES = ("admin/", "api/")
# `¥` then a number with three or more decimals: float or Decimal residue a person should never read.
MONEY_RESIDUE = re.compile(r"¥\s*-?[\d,]+\.\d{3,}")
# The money a form is prefilled with (an amount field, the staffing calculator's GMV and average order value).
MONEY_INPUT = re.compile(r'<input[^>]*\bname="((?:[\w-]*amount|gmv|average_order_value))"[^>]*\bvalue="([^"]*)"')
# The totals under a list (`<td data-total="loss">¥258.90</td>`).
TOTAL_CELL = re.compile(r'data-total="(\w+)">([^<]*)<')
SENSIBLE = {200, 302, 403}


def _first_pk(model_path: str):
    from django.apps import apps

    model = apps.get_model(model_path)
    return model.objects.order_by("pk").values_list("pk", flat=True).first()


def _argument_fillers():
    return {
        "warehouse:inspect": lambda: {"parcel_id": _first_pk("warehouse.ReturnParcel")},
        "warehouse:evidence": lambda: {"evidence_id": _first_pk("warehouse.Evidence")},
        "marketplaces:message_buyer": lambda: {"ticket_id": _first_pk("aftersales.AfterSalesTicket")},
    }


def _desk_routes(patterns=None, prefix="", namespace=None):
    """(URL name, route, has arguments) of every route outside the admin and the API."""
    from django.urls import URLPattern, URLResolver, get_resolver

    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from _desk_routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name, route, bool(pattern.pattern.regex.groups)


def desk_urls() -> list[str]:
    from django.urls import reverse

    fillers = _argument_fillers()
    urls = []
    for name, route, has_arguments in _desk_routes():
        if name in NOT_PAGES or route == "":  # "" only redirects to the admin's index
            continue
        if not has_arguments:
            urls.append(reverse(name))
            continue
        if name not in fillers:
            raise LookupError(f"desk route {route!r} ({name}) takes arguments: add it to tests/page_crawl.py")
        arguments = fillers[name]()
        if None not in arguments.values():  # the demo has no such object
            urls.append(reverse(name, kwargs=arguments))
    return urls


def admin_urls(user) -> list[str]:
    """The admin pages `user` may reach: what the admin itself would link to or let through."""
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import NoReverseMatch, reverse

    request = RequestFactory().get("/admin/")
    request.user = user
    urls = [reverse("admin:index")]
    app_labels = set()
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        opts = model._meta
        info = (opts.app_label, opts.model_name)
        if not model_admin.has_module_permission(request):
            continue
        if model_admin.has_view_or_change_permission(request):
            app_labels.add(opts.app_label)
            urls.append(reverse("admin:{}_{}_changelist".format(*info)))
            first = model_admin.get_queryset(request).order_by("pk").first()
            if first is not None and model_admin.has_view_or_change_permission(request, first):
                urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
                urls.append(reverse("admin:{}_{}_history".format(*info), args=[first.pk]))
            # The model's own extra pages without arguments (import, export, scan).
            standard = {f"{info[0]}_{info[1]}_{suffix}" for suffix in ("changelist", "add")}
            for pattern in model_admin.get_urls():
                if getattr(pattern, "name", None) and not pattern.pattern.regex.groups and pattern.name not in standard:
                    try:
                        urls.append(reverse(f"admin:{pattern.name}"))
                    except NoReverseMatch:
                        continue
        if model_admin.has_add_permission(request):
            app_labels.add(opts.app_label)
            urls.append(reverse("admin:{}_{}_add".format(*info)))
    urls.extend(reverse("admin:app_list", args=[label]) for label in sorted(app_labels))
    return list(dict.fromkeys(urls))


def demo_usernames() -> list[str]:
    from config.demo import DEMO_USERS

    return ["admin", *(username for username, *_rest in DEMO_USERS)]


def crawl() -> list[dict]:
    """GET every page every demo user may reach; one dict per visit. Needs the demo loaded."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user_model = get_user_model()
    desk = desk_urls()
    visits = []
    for username in demo_usernames():
        user = user_model.objects.get(username=username)
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(user)
        for url in [*desk, *admin_urls(user)]:
            response = client.get(url)
            body = ""
            if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
                body = response.content.decode("utf-8", "replace")
            money_inputs = dict(MONEY_INPUT.findall(body))
            residue_found = set(MONEY_RESIDUE.findall(body))
            residue_found.update(
                f"{name}={value}" for name, value in money_inputs.items() if re.fullmatch(r"-?\d+\.\d{3,}", value)
            )
            visits.append(
                {
                    "role": username,
                    "url": url,
                    "status": response.status_code,
                    "money_residue": sorted(residue_found),
                    "money_inputs": money_inputs,
                    "totals": dict(TOTAL_CELL.findall(body)),
                    "error": _error_of(response),
                }
            )
    return visits


def _error_of(response) -> str:
    if response.status_code < 500:
        return ""
    exc_info = getattr(response, "exc_info", None)
    if exc_info and exc_info[1] is not None:
        return f"{type(exc_info[1]).__name__}: {str(exc_info[1])[:300]}"
    return ""


def failures(visits: list[dict]) -> list[str]:
    """One line per visit that answered 5xx or an unexpected code."""
    return [
        f"{visit['status']} {visit['role']} {visit['url']} {visit['error']}".rstrip()
        for visit in visits
        if visit["status"] not in SENSIBLE
    ]


def residue(visits: list[dict]) -> list[str]:
    return [
        f"{visit['role']} {visit['url']}: {', '.join(visit['money_residue'])}"
        for visit in visits
        if visit["money_residue"]
    ]


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from config import demo

    call_command("migrate", "--noinput", verbosity=0)
    demo.load()
    visits = crawl()
    extra = {}
    if "--golden" in sys.argv:
        from tests.metrics.vendor_golden import golden_results

        extra["golden"] = golden_results()
    sys.stdout.write("\n" + json.dumps({"visits": visits, **extra}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
