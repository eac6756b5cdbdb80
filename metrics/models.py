"""Metrics' own tables. Metrics reads every app and writes only here."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import Platform, Shop
from metrics.codes import METRIC_UNITS, BuyerScale, Direction, MetricCode, Unit
from metrics.scoring import (
    FLOOR_SCORE,
    SCORES,
    TOP_SCORE,
    DimensionSpec,
    MetricSpec,
    ScorecardSpec,
    Step,
)


class MetricsAccess(models.Model):
    """No table: holds the permission to read the dashboards (指标看板) and the staffing forecast (人员配备)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", _("Can read the metrics dashboards and the staffing forecast"))]

    def __str__(self):
        return str(self._meta.verbose_name)


# --- scorecards (DESIGN §5 "Scorecards: the platforms' rules change, so they are data, not code") -------------------
#
# A scorecard is a platform's grading rule, one version of it: dimensions weighted in percent, metrics weighted in
# percent within their dimension, and each metric's score steps. The figures come from metrics/definitions.py,
# joined by metric code (metrics/codes.py); the arithmetic is metrics/scoring.py.
#
# Per-shop thresholds: the platforms set the steps per industry and show them only in the seller's back office, so a
# shop enters its own as ShopScoreStep rows on its ShopScorecard. They replace the scorecard's steps for that metric
# as a whole (never merged step by step, which could mix two industries' steps); the scorecard's weights and every
# other metric stay shared. Different weights (another industry's) are another scorecard version.


class Score(models.IntegerChoices):
    S50 = 50, "50"
    S60 = 60, "60"
    S70 = 70, "70"
    S80 = 80, "80"
    S90 = 90, "90"
    S100 = 100, "100"


def _percent_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        **kwargs,
    )


def _threshold_field():
    return models.DecimalField(
        _("threshold"),
        max_digits=12,
        decimal_places=4,
        help_text=_("In the metric's unit; rates in percent (0.5 is 0.5%)."),
    )


class ScorecardQuerySet(models.QuerySet):
    def in_force(self, platform, on: date):
        """The platform's scorecards in force on `on`, the most recent first."""
        return self.filter(platform=platform, effective_from__lte=on).order_by("-effective_from", "-id")

    def with_metrics(self):
        """Everything `to_spec` reads, in four queries whatever the size."""
        return self.select_related("platform").prefetch_related(
            Prefetch("dimensions", ScorecardDimension.objects.order_by("order", "id")),
            Prefetch("dimensions__metrics", ScorecardMetric.objects.order_by("order", "id")),
            "dimensions__metrics__steps",
        )


class Scorecard(models.Model):
    """One version of a platform's shop scorecard (商家体验分, 店铺真实体验分, …)."""

    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="scorecards", verbose_name=_("platform")
    )
    name = models.CharField(_("name"), max_length=100)
    version = models.CharField(_("version"), max_length=40, help_text=_("The rule's number or date."))
    effective_from = models.DateField(_("effective from"))
    notes = models.TextField(_("notes"), blank=True)
    is_default_thresholds = models.BooleanField(
        _("default thresholds"),
        default=True,
        help_text=_(
            "Plausible defaults, not the platform's published thresholds: replace them with the ones your back office "
            "shows, then untick this."
        ),
    )
    min_valid_orders = models.PositiveIntegerField(
        _("fewest valid paid orders in 30 days"),
        null=True,
        blank=True,
        help_text=_("Shops with fewer get the fixed score below. Empty: no such rule."),
    )
    few_orders_score = models.PositiveSmallIntegerField(
        _("fixed score below that"),
        null=True,
        blank=True,
        validators=[MinValueValidator(FLOOR_SCORE), MaxValueValidator(TOP_SCORE)],
    )
    deduction_per_incident = models.DecimalField(
        _("points deducted per incident"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    max_deduction = models.DecimalField(
        _("most points deducted in 30 days"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    buyer_scale = models.CharField(
        _("score shown to buyers"), max_length=20, choices=BuyerScale.choices, default=BuyerScale.NONE, blank=True
    )

    objects = ScorecardQuerySet.as_manager()

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["platform_id", "-effective_from", "id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "version"], name="metrics_scorecard_platform_version_unique"),
            models.CheckConstraint(
                condition=Q(min_valid_orders__isnull=True, few_orders_score__isnull=True)
                | Q(
                    min_valid_orders__isnull=False,
                    few_orders_score__gte=FLOOR_SCORE,
                    few_orders_score__lte=TOP_SCORE,
                ),
                name="metrics_scorecard_few_orders_rule_complete",
            ),
            models.CheckConstraint(
                condition=Q(deduction_per_incident__gte=0, max_deduction__gte=0),
                name="metrics_scorecard_deductions_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.platform} · {self.name} ({self.version})"

    def to_spec(self, shop_steps: dict[int, list[Step]] | None = None) -> ScorecardSpec:
        """The scorecard as plain data for `metrics.scoring`; `shop_steps` ({metric id: steps}) replace the
        scorecard's steps of those metrics. Load with `Scorecard.objects.with_metrics()` to read it in 4 queries."""
        shop_steps = shop_steps or {}
        return ScorecardSpec(
            name=self.name,
            version=self.version,
            dimensions=tuple(
                DimensionSpec(
                    name=dimension.name,
                    weight=dimension.weight,
                    metrics=tuple(metric.to_spec(shop_steps.get(metric.pk)) for metric in dimension.metrics.all()),
                )
                for dimension in self.dimensions.all()
            ),
            is_default_thresholds=self.is_default_thresholds,
            min_valid_orders=self.min_valid_orders,
            few_orders_score=self.few_orders_score,
            deduction_per_incident=self.deduction_per_incident,
            max_deduction=self.max_deduction,
            buyer_scale=self.buyer_scale,
        )


class ScorecardDimension(models.Model):
    """商品体验, 物流体验, 服务体验: a weighted part of a scorecard."""

    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="dimensions", verbose_name=_("scorecard")
    )
    name = models.CharField(_("name"), max_length=50)
    weight = _percent_field(_("weight (%)"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("scorecard dimension")
        verbose_name_plural = _("scorecard dimensions")
        ordering = ["scorecard_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "name"], name="metrics_dimension_name_unique"),
            models.CheckConstraint(
                condition=Q(weight__gte=0, weight__lte=100), name="metrics_dimension_weight_percent"
            ),
        ]

    def __str__(self):
        return f"{self.scorecard} · {self.name}"


class ScorecardMetric(models.Model):
    """One graded metric of a dimension; `code` names its definition in metrics/definitions.py."""

    dimension = models.ForeignKey(
        ScorecardDimension, on_delete=models.CASCADE, related_name="metrics", verbose_name=_("dimension")
    )
    code = models.CharField(_("metric"), max_length=40, choices=MetricCode.choices)
    weight = _percent_field(_("weight in the dimension (%)"))
    direction = models.CharField(_("direction"), max_length=20, choices=Direction.choices)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("scorecard metric")
        verbose_name_plural = _("scorecard metrics")
        ordering = ["dimension_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "code"], name="metrics_scorecardmetric_code_unique"),
            models.CheckConstraint(condition=Q(weight__gte=0, weight__lte=100), name="metrics_metric_weight_percent"),
        ]

    def __str__(self):
        return f"{self.dimension} · {self.get_code_display()}"

    def clean(self):
        expected = METRIC_UNITS.get(self.code)
        if self.code and self.unit and expected and self.unit != expected:
            raise ValidationError({"unit": _("This metric is measured in %(unit)s.") % {"unit": Unit(expected).label}})
        if self.code and self.dimension_id:
            same_code = ScorecardMetric.objects.filter(
                dimension__scorecard_id=self.dimension.scorecard_id, code=self.code
            ).exclude(pk=self.pk)
            if same_code.exists():
                raise ValidationError({"code": _("This metric is already in another dimension of this scorecard.")})

    def to_spec(self, shop_steps: list[Step] | None = None) -> MetricSpec:
        return MetricSpec(
            code=self.code,
            name=self.get_code_display(),
            weight=self.weight,
            direction=self.direction,
            unit=self.unit,
            steps=tuple(shop_steps) if shop_steps else tuple(step.as_step() for step in self.steps.all()),
            has_shop_thresholds=bool(shop_steps),
        )


class ScoreStep(models.Model):
    """A value the metric must reach (at least, or at most, by its direction) for a score."""

    metric = models.ForeignKey(
        ScorecardMetric, on_delete=models.CASCADE, related_name="steps", verbose_name=_("metric")
    )
    threshold = _threshold_field()
    score = models.PositiveSmallIntegerField(_("score"), choices=Score.choices)

    class Meta:
        verbose_name = _("score step")
        verbose_name_plural = _("score steps")
        ordering = ["metric_id", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "score"], name="metrics_scorestep_score_unique"),
            models.CheckConstraint(condition=Q(score__in=SCORES), name="metrics_scorestep_score_valid"),
        ]

    def __str__(self):
        return f"{self.score}: {self.threshold}"

    def as_step(self) -> Step:
        return Step(threshold=self.threshold, score=self.score)


class ShopScorecard(models.Model):
    """The scorecard a shop is graded by, and (in its steps) the thresholds the shop's back office shows."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="scorecard_choice", verbose_name=_("shop"))
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.PROTECT, related_name="shop_choices", verbose_name=_("scorecard")
    )

    class Meta:
        verbose_name = _("shop's scorecard")
        verbose_name_plural = _("shops' scorecards")
        ordering = ["shop_id"]

    def __str__(self):
        return f"{self.shop} · {self.scorecard}"

    def clean(self):
        if self.shop_id and self.scorecard_id and self.shop.platform_id != self.scorecard.platform_id:
            raise ValidationError({"scorecard": _("Choose a scorecard of the shop's platform.")})

    def to_spec(self) -> ScorecardSpec:
        """The scorecard with this shop's own steps in place of the defaults (5 queries)."""
        scorecard = Scorecard.objects.with_metrics().get(pk=self.scorecard_id)
        shop_steps: dict[int, list[Step]] = {}
        for step in self.steps.filter(metric__dimension__scorecard_id=self.scorecard_id).order_by("metric_id", "score"):
            shop_steps.setdefault(step.metric_id, []).append(step.as_step())
        return scorecard.to_spec(shop_steps)


class ShopScoreStep(models.Model):
    """The shop's own step for a metric of its scorecard. A metric with any of these is graded by these alone.

    Steps for a metric of another scorecard (the shop switched) are kept but not used; they apply again if the
    shop switches back."""

    shop_scorecard = models.ForeignKey(
        ShopScorecard, on_delete=models.CASCADE, related_name="steps", verbose_name=_("shop's scorecard")
    )
    metric = models.ForeignKey(
        ScorecardMetric, on_delete=models.CASCADE, related_name="shop_steps", verbose_name=_("metric")
    )
    threshold = _threshold_field()
    score = models.PositiveSmallIntegerField(_("score"), choices=Score.choices)

    class Meta:
        verbose_name = _("shop's score step")
        verbose_name_plural = _("shop's score steps")
        ordering = ["shop_scorecard_id", "metric_id", "-score"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop_scorecard", "metric", "score"], name="metrics_shopscorestep_score_unique"
            ),
            models.CheckConstraint(condition=Q(score__in=SCORES), name="metrics_shopscorestep_score_valid"),
        ]

    def __str__(self):
        return f"{self.score}: {self.threshold}"

    def as_step(self) -> Step:
        return Step(threshold=self.threshold, score=self.score)


class DailyMetric(models.Model):
    """One metric's numerator and denominator for one shop and one China-time day (metrics/rollups.py)."""

    shop = models.ForeignKey(
        "aftersales.Shop", on_delete=models.CASCADE, related_name="daily_metrics", verbose_name=_("shop")
    )
    day = models.DateField(_("day"))
    code = models.CharField(_("metric"), max_length=40)
    numerator = models.DecimalField(_("numerator"), max_digits=18, decimal_places=4)
    denominator = models.PositiveIntegerField(_("denominator"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("daily metric")
        verbose_name_plural = _("daily metrics")
        constraints = [models.UniqueConstraint(fields=["shop", "day", "code"], name="daily_metric_unique")]
        indexes = [models.Index(fields=["shop", "day"], name="daily_metric_shop_day_idx")]

    def __str__(self):
        return f"{self.day} {self.code}"


class DirtyDay(models.Model):
    """A shop's China-time day whose rolled-up figures a change may have moved (metrics/dirty.py): written in the
    transaction of the change, read and removed by the rollup that recomputes the day (metrics/rollups.py).

    A log, not one row per day: a change never updates or waits on another change's row (a unique (shop, day) row
    would either be locked by every change of the shop until it commits, or, inserted "if missing", could be removed
    by a rollup that had not yet seen the change). The rollup removes exactly the rows it read, so a row written
    while it computes stays for the next run."""

    shop = models.ForeignKey("aftersales.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    day = models.DateField(_("day"))
    marked_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        verbose_name = _("day to roll up again")
        verbose_name_plural = _("days to roll up again")

    def __str__(self):
        return f"{self.shop_id} {self.day}"


class TicketDecision(models.Model):
    """The merchant's first decision on a ticket (metrics/definitions.py MERCHANT_DECISIONS), as the rollup of its
    China-time day found it (metrics/rollups.py): what the per-path timeliness and the per-agent table read for the
    days already rolled up, instead of searching a year of events for each ticket's first decision."""

    ticket = models.OneToOneField(
        "aftersales.AfterSalesTicket", on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket")
    )
    shop = models.ForeignKey("aftersales.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    path = models.PositiveSmallIntegerField(_("path"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    # The order's buyer, to find the orders the same buyer paid the shop after the decision (repurchases).
    buyer_nick = models.CharField(_("buyer nickname"), max_length=100, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    decided_at = models.DateTimeField(_("decided at"))
    # The orders the same buyer paid the shop after the decision and before `later_counted_until` (refreshed nightly
    # for the last days); the readers add those paid since then.
    later_orders = models.PositiveIntegerField(_("later orders"), default=0)
    later_sales_amount = models.DecimalField(_("later sales"), max_digits=14, decimal_places=2, default=Decimal(0))
    later_counted_until = models.DateTimeField(_("later orders counted until"))

    class Meta:
        verbose_name = _("first merchant decision")
        verbose_name_plural = _("first merchant decisions")
        indexes = [models.Index(fields=["shop", "decided_at"], name="ticket_decision_shop_at_idx")]

    def __str__(self):
        return f"{self.ticket_id} {self.decided_at:%Y-%m-%d %H:%M}"


class DecisionTimes(models.Model):
    """The merchant times (application → first decision) of one shop's tickets first decided on one China-time day,
    per path, in microseconds and sorted: written with that day's TicketDecision rows (metrics/rollups.py), so the
    week-by-week chart reads a few hundred short lists instead of sorting twelve weeks of decisions on every load.
    A list, not a count and a percentile: a week's (or several shops') p90 is the nearest rank of all their times
    together, which no per-day figure adds up to."""

    shop = models.ForeignKey("aftersales.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    day = models.DateField(_("day"))
    path = models.PositiveSmallIntegerField(_("path"))
    microseconds = models.JSONField(_("merchant times (µs)"), default=list)

    class Meta:
        verbose_name = _("merchant times of a day")
        verbose_name_plural = _("merchant times of a day")
        constraints = [models.UniqueConstraint(fields=["shop", "day", "path"], name="decision_times_unique")]

    def __str__(self):
        return f"{self.shop_id} {self.day} {self.path}"


# --- data the desk does not create itself: filled by import of the platforms' export files (metrics/platform_data.py)


class ChatSession(models.Model):
    """One customer-service chat session (飞鸽/旺旺) as the platform exports it."""

    shop = models.ForeignKey(
        "aftersales.Shop", on_delete=models.CASCADE, related_name="chat_sessions", verbose_name=_("shop")
    )
    platform_session_id = models.CharField(_("platform session id"), max_length=64)
    # The buyer's nickname, when the export has it: the after-sales response time finds a ticket's chat by it.
    buyer_nick = models.CharField(_("buyer nickname"), max_length=100, blank=True, default="", db_default="")
    started_at = models.DateTimeField(_("started at"))
    # None: no agent ever answered.
    first_response_seconds = models.PositiveIntegerField(_("first response (seconds)"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("buyer's rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_session_id"], name="chat_session_unique"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="chat_session_rating_1_5"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "started_at"], name="chat_session_shop_day_idx"),
            models.Index(fields=["shop", "buyer_nick", "started_at"], name="chat_session_buyer_idx"),
        ]

    def __str__(self):
        return self.platform_session_id


class ProductReview(models.Model):
    """A buyer's review of an order as the platform exports it: the product's stars and, when given, logistics'."""

    shop = models.ForeignKey(
        "aftersales.Shop", on_delete=models.CASCADE, related_name="product_reviews", verbose_name=_("shop")
    )
    platform_order_id = models.CharField(_("platform order id"), max_length=64)
    reviewed_at = models.DateTimeField(_("reviewed at"))
    rating = models.PositiveSmallIntegerField(
        _("product rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    logistics_rating = models.PositiveSmallIntegerField(
        _("logistics rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    # The buyer's first review of the order (首次评价), kept when a later export brings a changed or additional
    # review: the product negative review rate (商品差评率) counts the first one, whatever the buyer changed later.
    first_reviewed_at = models.DateTimeField(_("first reviewed at"))
    first_rating = models.PositiveSmallIntegerField(
        _("first product rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("product review")
        verbose_name_plural = _("product reviews")
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_order_id"], name="product_review_unique"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="product_review_rating_1_5"),
            models.CheckConstraint(
                condition=Q(logistics_rating__isnull=True) | Q(logistics_rating__gte=1, logistics_rating__lte=5),
                name="product_review_logistics_rating_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "reviewed_at"], name="product_review_shop_day_idx"),
            models.Index(fields=["shop", "first_reviewed_at"], name="product_review_shop_first_idx"),
        ]

    def __str__(self):
        return self.platform_order_id


class ProductScore(models.Model):
    """The shop's product overall score (商品综合评分, 0–5) for one day, as the platform computes it and its back office
    shows it: one shop-level figure a day, not one per product."""

    shop = models.ForeignKey(
        "aftersales.Shop", on_delete=models.CASCADE, related_name="product_scores", verbose_name=_("shop")
    )
    day = models.DateField(_("day"))
    score = models.DecimalField(
        _("product overall score"),
        max_digits=3,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(5))],
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("product overall score")
        verbose_name_plural = _("product overall scores")
        # The unique constraint's index also serves the metric's (shop, day range) reads.
        constraints = [
            models.UniqueConstraint(fields=["shop", "day"], name="product_score_unique"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=5), name="product_score_0_5"),
        ]

    def __str__(self):
        return f"{self.day} {self.score}"
