from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self):
        from aftersales.db_triggers import drop_before_migrate, recreate_after_migrate
        from desk.fsm import fsm_corrections_apply

        fsm_corrections_apply()

        # SQLite migrations rebuild tables, which drops their triggers (or fails on them): migrate without them, and
        # create them again afterwards.
        pre_migrate.connect(drop_before_migrate, sender=self, dispatch_uid="aftersales_sqlite_triggers")
        post_migrate.connect(recreate_after_migrate, sender=self, dispatch_uid="aftersales_sqlite_triggers")
