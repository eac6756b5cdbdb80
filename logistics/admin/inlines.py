"""The read-only history inline that the intercept, shipment and claim pages share."""

from django.contrib import admin

from logistics.models import LogisticsEvent


class EventInline(admin.TabularInline):
    """A subject's logistics events, oldest first; subclasses name the subject in `fk_name`."""

    model = LogisticsEvent
    fields = ["at", "actor", "action", "from_state", "to_state", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
