"""Metrics' own tables. Metrics reads every app and writes only here."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MetricsAccess(models.Model):
    """No table: holds the permission to read the dashboards (指标看板) and the staffing forecast (人员配备)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", _("Can read the metrics dashboards and the staffing forecast"))]

    def __str__(self):
        return str(self._meta.verbose_name)
