"""Admins for the scorecards (DESIGN §5): a scorecard with its dimensions inline and an overview of its metrics and
steps; each metric on its own page with its steps inline; the scorecard each shop is graded by, with the shop's own
steps, limited to the user's shops.

Seeded thresholds are plausible defaults, not the platforms' published ones: every list and page that shows them says
so until someone unticks "default thresholds" on the scorecard.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from desk.admin.scoping import ShopScopedAdminMixin
from metrics.models import (
    Scorecard,
    ScorecardDimension,
    ScorecardMetric,
    ScoreStep,
    ShopScorecard,
    ShopScoreStep,
)
from metrics.scoring import FLOOR_SCORE, Step, steps_are_monotonic

HUNDRED = Decimal(100)
DEFAULT_THRESHOLDS_NOTICE = gettext_lazy(
    "Default thresholds: plausible defaults, not the platform's published ones. Replace them with your back office's."
)


def _default_thresholds_notice():
    return format_html(
        '<strong class="desk-default-thresholds" style="color:#ba2121">{}</strong>', DEFAULT_THRESHOLDS_NOTICE
    )


def _number(value: Decimal) -> str:
    """40.00 → "40", 0.5000 → "0.5" (normalize alone would give "4E+1")."""
    return f"{value.normalize():f}"


def _steps_text(steps) -> str:
    return " · ".join(f"{step.score}: {_number(step.threshold)}" for step in sorted(steps, key=lambda s: -s.score))


# --- scorecards -----------------------------------------------------------------------------------------------------


class DimensionFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        weights = [
            form.cleaned_data["weight"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("weight") is not None
        ]
        if weights and sum(weights) != HUNDRED:
            raise ValidationError(
                _("The dimensions' weights add up to %(total)s%%; they must add up to 100%%.")
                % {"total": _number(sum(weights))}
            )


class DimensionInline(admin.TabularInline):
    model = ScorecardDimension
    formset = DimensionFormSet
    fields = ["name", "weight", "order"]
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "version", "effective_from", "thresholds"]
    list_select_related = ["platform"]
    list_filter = ["platform", "is_default_thresholds"]
    search_fields = ["name", "version"]
    inlines = [DimensionInline]
    readonly_fields = ["thresholds_notice", "metrics_overview"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "thresholds_notice",
                    "platform",
                    "name",
                    "version",
                    "effective_from",
                    "is_default_thresholds",
                    "notes",
                ]
            },
        ),
        (
            gettext_lazy("Platform rules (Douyin 2026)"),
            {
                "fields": [
                    "min_valid_orders",
                    "few_orders_score",
                    "deduction_per_incident",
                    "max_deduction",
                    "buyer_scale",
                ]
            },
        ),
        (gettext_lazy("Metrics and score steps"), {"fields": ["metrics_overview"]}),
    ]

    @admin.display(description=gettext_lazy("thresholds"), ordering="is_default_thresholds")
    def thresholds(self, scorecard):
        if scorecard.is_default_thresholds:
            return format_html(
                '<strong class="desk-default-thresholds" style="color:#ba2121">{}</strong>',
                _("default, replace with your back office's"),
            )
        return _("from the back office")

    @admin.display(description=gettext_lazy("notice"))
    def thresholds_notice(self, scorecard):
        if scorecard is None or scorecard.pk is None or scorecard.is_default_thresholds:
            return _default_thresholds_notice()
        return _("Thresholds entered from the back office.")

    @admin.display(description=gettext_lazy("metrics"))
    def metrics_overview(self, scorecard):
        """Every metric with its weight and steps, each linked to its own page, and a link to add one per dimension."""
        if scorecard is None or scorecard.pk is None:
            return _("Save the scorecard and its dimensions first, then add their metrics.")
        dimensions = ScorecardDimension.objects.filter(scorecard=scorecard).order_by("order", "id")
        metrics = (
            ScorecardMetric.objects.filter(dimension__scorecard=scorecard)
            .prefetch_related("steps")
            .order_by("order", "id")
        )
        by_dimension = {}
        for metric in metrics:
            by_dimension.setdefault(metric.dimension_id, []).append(metric)
        rows = []
        for dimension in dimensions:
            dimension_metrics = by_dimension.get(dimension.pk, [])
            weight_total = sum((metric.weight for metric in dimension_metrics), Decimal(0))
            add_url = reverse("admin:metrics_scorecardmetric_add") + "?" + urlencode({"dimension": dimension.pk})
            rows.append(
                format_html(
                    '<tr><th colspan="4">{} · {}%{}</th><th><a href="{}">{}</a></th></tr>',
                    dimension.name,
                    _number(dimension.weight),
                    ""
                    if not dimension_metrics or weight_total == HUNDRED
                    else format_html(
                        ' <span style="color:#ba2121">{}</span>',
                        _("(metric weights add up to %(total)s%%, used as shares)") % {"total": _number(weight_total)},
                    ),
                    add_url,
                    _("add a metric"),
                )
            )
            for metric in dimension_metrics:
                rows.append(
                    format_html(
                        '<tr><td><a href="{}">{}</a></td><td>{}%</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                        reverse("admin:metrics_scorecardmetric_change", args=[metric.pk]),
                        metric.get_code_display(),
                        _number(metric.weight),
                        metric.get_direction_display(),
                        metric.get_unit_display(),
                        _steps_text(metric.steps.all()) or _("no steps"),
                    )
                )
        if not rows:
            return _("Add the dimensions below and save; then add their metrics here.")
        return format_html(
            '<table class="desk-scorecard-overview"><tbody>{}</tbody></table><p class="help">{}</p>',
            format_html_join("", "{}", ((row,) for row in rows)),
            _("A value that reaches no step scores %(floor)s.") % {"floor": FLOOR_SCORE},
        )


# --- metrics and their steps ----------------------------------------------------------------------------------------


class StepFormSet(forms.BaseInlineFormSet):
    """A better score never asks for less than a worse one (by the metric's direction)."""

    def clean(self):
        super().clean()
        steps = [
            Step(threshold=form.cleaned_data["threshold"], score=form.cleaned_data["score"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("threshold") is not None
            and form.cleaned_data.get("score") is not None
        ]
        direction = self._direction()
        if direction and not steps_are_monotonic(steps, direction):
            raise ValidationError(
                _("A higher score must need a better value: check the thresholds' order against the direction.")
            )

    def _direction(self):
        return self.instance.direction


class ScoreStepInline(admin.TabularInline):
    model = ScoreStep
    formset = StepFormSet
    fields = ["score", "threshold"]
    ordering = ["-score"]
    max_num = 6

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj else 5


class MetricForm(forms.ModelForm):
    class Meta:
        model = ScorecardMetric
        fields = ["dimension", "code", "weight", "direction", "unit", "order"]


@admin.register(ScorecardMetric)
class ScorecardMetricAdmin(admin.ModelAdmin):
    form = MetricForm
    list_display = ["metric", "dimension_name", "scorecard", "weight", "direction", "unit", "steps_summary"]
    list_select_related = ["dimension__scorecard__platform"]
    list_filter = ["dimension__scorecard__platform", "dimension__scorecard__is_default_thresholds", "code"]
    search_fields = ["code", "dimension__name", "dimension__scorecard__name", "dimension__scorecard__version"]
    ordering = ["dimension__scorecard_id", "dimension__order", "order", "id"]
    readonly_fields = ["thresholds_notice"]
    fields = ["thresholds_notice", "dimension", "code", "weight", "direction", "unit", "order"]
    inlines = [ScoreStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "dimension":
            kwargs["queryset"] = ScorecardDimension.objects.select_related("scorecard__platform")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("metric"), ordering="code")
    def metric(self, metric):
        return metric.get_code_display()

    @admin.display(description=gettext_lazy("dimension"), ordering="dimension__name")
    def dimension_name(self, metric):
        return metric.dimension.name

    @admin.display(description=gettext_lazy("scorecard"))
    def scorecard(self, metric):
        scorecard = metric.dimension.scorecard
        text = f"{scorecard.platform} · {scorecard.name} ({scorecard.version})"
        if scorecard.is_default_thresholds:
            return format_html(
                '{} <span class="desk-default-thresholds" style="color:#ba2121">({})</span>',
                text,
                _("default thresholds"),
            )
        return text

    @admin.display(description=gettext_lazy("score steps"))
    def steps_summary(self, metric):
        return _steps_text(metric.steps.all()) or _("no steps")

    @admin.display(description=gettext_lazy("notice"))
    def thresholds_notice(self, metric):
        if metric is None or metric.pk is None or metric.dimension.scorecard.is_default_thresholds:
            return _default_thresholds_notice()
        return _("Thresholds entered from the back office.")


# --- the shops' choices ---------------------------------------------------------------------------------------------


class ShopStepFormSet(forms.BaseInlineFormSet):
    """The shop's steps of each metric, in the right order for the metric's direction."""

    def clean(self):
        super().clean()
        by_metric = {}
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE") or None in (data.get("metric"), data.get("threshold"), data.get("score")):
                continue
            by_metric.setdefault(data["metric"], []).append(Step(threshold=data["threshold"], score=data["score"]))
        for metric, steps in by_metric.items():
            if not steps_are_monotonic(steps, metric.direction):
                raise ValidationError(
                    _("%(metric)s: a higher score must need a better value.") % {"metric": metric.get_code_display()}
                )


class MetricChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, metric):
        return f"{metric.dimension.name} · {metric.get_code_display()}"


class ShopScoreStepInline(admin.TabularInline):
    model = ShopScoreStep
    formset = ShopStepFormSet
    fields = ["metric", "score", "threshold"]
    ordering = ["metric__dimension__order", "metric__order", "-score"]
    extra = 0
    verbose_name = gettext_lazy("the shop's own step")
    verbose_name_plural = gettext_lazy(
        "the shop's own steps (a metric with any replaces the scorecard's steps for that metric)"
    )

    def get_formset(self, request, obj=None, **kwargs):
        self._scorecard_id = obj.scorecard_id if obj else None
        return super().get_formset(request, obj, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("metric__dimension")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "metric":
            kwargs["queryset"] = (
                ScorecardMetric.objects.filter(dimension__scorecard_id=self._scorecard_id)
                .select_related("dimension")
                .order_by("dimension__order", "order", "id")
            )
            kwargs["form_class"] = MetricChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ShopScorecard)
class ShopScorecardAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    shop_path = "shop"
    list_display = ["shop", "platform", "scorecard", "own_steps", "thresholds"]
    list_select_related = ["shop__platform", "scorecard__platform"]
    list_filter = ["shop", "scorecard"]
    ordering = ["shop_id"]
    readonly_fields = ["thresholds_in_use"]
    inlines = [ShopScoreStepInline]

    def get_fields(self, request, obj=None):
        return ["shop", "scorecard", "thresholds_in_use"] if obj else ["shop", "scorecard"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        # Someone who may only view the choice (a supervisor) gets a form without the field: it is shown read-only.
        if obj is not None and "scorecard" in form_class.base_fields:
            # Only the shop's platform's scorecards make sense; the model's clean() refuses the others anyway.
            field = form_class.base_fields["scorecard"]
            field.queryset = field.queryset.filter(platform_id=obj.shop.platform_id)
        return form_class

    def get_inlines(self, request, obj):
        # The metrics to enter steps for are the chosen scorecard's: choose and save it first.
        return self.inlines if obj else []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(own_step_count=Count("steps"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "scorecard":
            kwargs["queryset"] = Scorecard.objects.select_related("platform")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("platform"), ordering="shop__platform")
    def platform(self, choice):
        return choice.shop.platform

    @admin.display(description=gettext_lazy("own steps"), ordering="own_step_count")
    def own_steps(self, choice):
        return choice.own_step_count

    @admin.display(description=gettext_lazy("thresholds"))
    def thresholds(self, choice):
        if choice.scorecard.is_default_thresholds:
            return format_html(
                '<strong class="desk-default-thresholds" style="color:#ba2121">{}</strong>',
                _("default, replace with your back office's"),
            )
        return _("from the back office")

    @admin.display(description=gettext_lazy("thresholds in use"))
    def thresholds_in_use(self, choice):
        """For each metric, the steps that grade this shop: its own where it entered any, else the scorecard's."""
        if choice is None or choice.pk is None:
            return "—"
        own = {}
        for step in choice.steps.filter(metric__dimension__scorecard_id=choice.scorecard_id):
            own.setdefault(step.metric_id, []).append(step)
        metrics = (
            ScorecardMetric.objects.filter(dimension__scorecard_id=choice.scorecard_id)
            .select_related("dimension")
            .prefetch_related("steps")
            .order_by("dimension__order", "order", "id")
        )
        is_default = choice.scorecard.is_default_thresholds
        rows = format_html_join(
            "",
            "<tr><td>{} · {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    metric.dimension.name,
                    metric.get_code_display(),
                    _steps_text(own.get(metric.pk) or metric.steps.all()) or _("no steps"),
                    _("the shop's own")
                    if metric.pk in own
                    else (_("default thresholds") if is_default else _("the scorecard's")),
                )
                for metric in metrics
            ),
        )
        return format_html('<table class="desk-scorecard-overview"><tbody>{}</tbody></table>', rows)
