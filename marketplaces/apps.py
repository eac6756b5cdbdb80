from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplacesConfig(AppConfig):
    name = "marketplaces"
    verbose_name = _("Marketplace connections")

    def ready(self):
        from aftersales import ticket_links
        from marketplaces.selectors import message_buyer_links

        ticket_links.register(message_buyer_links)
