from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self):
        from aftersales.db_triggers import recreate_after_migrate

        # SQLite drops a table's triggers when a migration rebuilds the table: put them back after every migrate.
        post_migrate.connect(recreate_after_migrate, sender=self, dispatch_uid="aftersales_sqlite_triggers")
