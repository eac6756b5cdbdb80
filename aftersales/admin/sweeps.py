"""The sweep runs (日清记录): what each scheduled sweep did and which tickets it could not move. Read-only."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy

from aftersales.models import SweepRun
from desk.admin.scoping import ReadOnlyAdminMixin


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "status", "started_at", "finished_at", "actions_done", "error_count"]
    list_filter = ["kind", "status"]
    date_hierarchy = "started_at"
    fields = ["kind", "status", "started_at", "finished_at", "batch_size", "actions_done", "error_list"]
    readonly_fields = fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.display(description=gettext_lazy("done"))
    def actions_done(self, run: SweepRun):
        if not run.counts:
            return "—"
        return format_html_join(", ", "{}: {}", sorted(run.counts.items()))

    @admin.display(description=gettext_lazy("errors"))
    def error_count(self, run: SweepRun):
        return len(run.errors)

    @admin.display(description=gettext_lazy("errors"))
    def error_list(self, run: SweepRun):
        if not run.errors:
            return "—"
        return format_html_join(
            "\n",
            "<div>{} · #{} · {}</div>",
            ((error.get("step", ""), error.get("ticket") or "—", error.get("error", "")) for error in run.errors),
        )
