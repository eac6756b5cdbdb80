from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aftersales.models import AfterSalesTicket, TicketState
from config import demo
from config.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = (
        "Load the demo shops, couriers, orders, one user per role with refund authorities, and tickets in every "
        "state. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("Demo users have a published password; load_demo refuses to run in production.")
        loaded = demo.load()
        for shop, summary in loaded.imports.items():
            self.stdout.write(
                f"{shop.name}: {summary.created} new, {summary.updated} updated, {summary.unchanged} unchanged orders"
            )
        for shop, states in loaded.tickets.items():
            by_state = ", ".join(f"{state} {count}" for state, count in states.items())
            self.stdout.write(f"{shop.name}: {sum(states.values())} demo tickets ({by_state})")
        if loaded.logistics:
            self.stdout.write(
                "Logistics: {intercepts} intercepts requested, {lost} parcels declared lost, {claims} courier claims "
                "registered".format(**loaded.logistics)
            )
        self.stdout.write(f"Metrics: {loaded.rollup_days} shop-days rolled up for the dashboard at /metrics/")
        waiting = AfterSalesTicket.objects.filter(
            platform_ticket_id__gt="", state=TicketState.RETURN_IN_TRANSIT, shop__in=list(loaded.tickets)
        ).values_list("return_tracking_number", flat=True)
        if waiting:
            self.stdout.write(f"Returns on their way, to scan at /warehouse/: {', '.join(sorted(waiting))}")
        if not options["quiet_logins"]:
            self._print_logins()

    def _print_logins(self):
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {DEMO_PASSWORD})"))
        self.stdout.write(f"  {'admin':<11} superuser   every shop; configuration")
        for username, role, shop_codes, purpose in DEMO_USERS:
            where = ", ".join(shop_codes) if shop_codes else "every demo shop"
            self.stdout.write(f"  {username:<11} {role:<11} {where}; {purpose}")
