"""The API's list filters (django-filter), kept apart from desk.api.support: DRF's settings import this module
while the support module itself imports DRF."""

from datetime import UTC

from django.db import models
from django_filters import rest_framework as filters


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 time filter, compared in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value is not None else value)


class DeskFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {**filters.FilterSet.FILTER_DEFAULTS, models.DateTimeField: {"filter_class": UtcDateTimeFilter}}


class DeskFilterBackend(filters.DjangoFilterBackend):
    filterset_base = DeskFilterSet
