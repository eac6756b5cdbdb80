from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aftersales import roles
from aftersales.order_import import plan_order_import
from aftersales.services import order_import_apply, shop_assign_user, shop_upsert
from config import demo
from logistics.services import courier_upsert

DEMO_PASSWORD = "aftersales-demo"  # noqa: S105 - printed to the developer on purpose; refused in production
# username, role, shops (by code; None means every demo shop), what to try
DEMO_USERS = [
    ("agent", roles.AGENT, ["shanye-tmall"], "the Tmall shop only: the Douyin shop's orders stay invisible"),
    ("supervisor", roles.SUPERVISOR, None, "imports orders; decides approvals"),
    ("warehouse", roles.WAREHOUSE, None, "the receiving station"),
    ("manager", roles.MANAGER, None, "dashboards and shop settings"),
]


class Command(BaseCommand):
    help = "Load the demo shops, couriers, orders and one user per role. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("Demo users have a published password; load_demo refuses to run in production.")
        with transaction.atomic():
            for code, name, _prefix in demo.COURIERS:
                courier_upsert(code=code, name=name)
            shops = {
                spec["code"]: shop_upsert(code=spec["code"], name=spec["name"], platform_code=spec["platform_code"])
                for spec in demo.SHOPS
            }
            day = demo.demo_day()
            for spec in demo.SHOPS:
                shop = shops[spec["code"]]
                summary = order_import_apply(plan=plan_order_import(shop=shop, rows=demo.order_rows(spec, today=day)))
                self.stdout.write(
                    f"{shop.name}: {summary.created} new, {summary.updated} updated, "
                    f"{summary.unchanged} unchanged orders"
                )
            self._users(shops)
        if not options["quiet_logins"]:
            self._print_logins()

    def _users(self, shops):
        user_model = get_user_model()
        admin, _created = user_model.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        for username, role, shop_codes, _purpose in DEMO_USERS:
            user, _created = user_model.objects.get_or_create(username=username)
            user.is_staff = True
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=role))
            for code in shop_codes or shops:
                shop_assign_user(shop=shops[code], user=user)

    def _print_logins(self):
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {DEMO_PASSWORD})"))
        self.stdout.write(f"  {'admin':<11} superuser   every shop; configuration")
        for username, role, shop_codes, purpose in DEMO_USERS:
            where = ", ".join(shop_codes) if shop_codes else "every demo shop"
            self.stdout.write(f"  {username:<11} {role:<11} {where}; {purpose}")
