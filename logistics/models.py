"""Couriers now; shipments, tracking events, intercepts and claims join here (issue 5)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Courier(models.Model):
    """A courier company. Orders refer to it by `code` (aftersales may not import logistics)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("courier")
        verbose_name_plural = _("couriers")
        ordering = ["code"]

    def __str__(self):
        return self.name
