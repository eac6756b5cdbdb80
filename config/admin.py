"""API tokens in the admin: who holds which, until when; managers and superusers revoke them. Tokens are issued
only through /api/v1/auth/token/ (the key is shown once, to its holder), so there is no add form."""

from celery.schedules import crontab
from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule

from config import admin_roles  # noqa: F401  (the user and group pages with the roles' labels)
from config.models import ApiToken
from config.services import api_tokens_revoke, password_fingerprint


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["key_prefix", "user", "created_at", "expires_at", "state", "revoked_at", "revoked_by"]
    list_select_related = ["user", "revoked_by"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at"]
    search_fields = ["=user__username", "=key_prefix"]
    raw_id_fields = ["user", "revoked_by"]
    fields = ["key_prefix", "user", "created_at", "expires_at", "state", "revoked_at", "revoked_by"]
    readonly_fields = fields
    actions = ["revoke"]
    show_full_result_count = False

    @admin.display(description=gettext_lazy("state"))
    def state(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return _("revoked")
        if token.expires_at <= timezone.now():
            return _("expired")
        if token.password_fingerprint != password_fingerprint(token.user):
            return _("password changed")
        return _("valid")

    @admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        count = api_tokens_revoke(tokens=queryset, by=request.user)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A revoked token stays, as the record of who revoked it and when.
        return False


CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


class CrontabScheduleForm(forms.ModelForm):
    """django-celery-beat's form checks a crontab's text but not its numbers: an hour of -1 was saved, and the page
    that shows it (and beat) failed reading it. Each field is read here by Celery's own parser, field by field, so a
    value beat cannot run is a form error on its field."""

    class Meta:
        model = CrontabSchedule
        fields = ["minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone"]

    def clean(self):
        cleaned = super().clean()
        for name in CRONTAB_FIELDS:
            value = cleaned.get(name)
            if value in (None, ""):
                continue
            try:
                crontab(**{name: value})
            except Exception:  # noqa: BLE001 - Celery's parser raises ParseException, ValueError or KeyError
                self.add_error(name, _("Celery cannot read this value; see the help text for what is allowed."))
        return cleaned


admin.site.unregister(CrontabSchedule)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(BeatCrontabScheduleAdmin):
    form = CrontabScheduleForm
