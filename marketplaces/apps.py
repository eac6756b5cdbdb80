from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplacesConfig(AppConfig):
    name = "marketplaces"
    verbose_name = _("Marketplace connections")
