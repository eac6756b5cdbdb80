"""The metric codes: the join key between a metric's definition (`metrics/definitions.py`, computed in the database)
and the scorecards that grade it (`metrics/models.py`, data).

One code is one definition, and every code has one (metrics/definitions.py; a test holds them together). Douyin
2026's 揽收时长平均得分 and 运单配送时效达成率 are the platform's own scores from data the desk does not hold (its
per-order pickup scoring and promised delivery times): they have no code until that data can be imported.

Where two platforms use the same Chinese name for different formulas (平台求助率 has three), each formula has its own
code, so a figure is never graded against a rule it was not computed for.

`METRIC_UNITS` says in which unit a scorecard's thresholds for the metric are entered, which is how the platforms'
back offices show them. A rate's figure is a 0–1 fraction (as the definitions return it) and its thresholds are
percentages: the scoring multiplies the figure by 100 before comparing (`metrics.scoring`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    HIGHER_IS_BETTER = "higher_is_better", _("higher is better")
    LOWER_IS_BETTER = "lower_is_better", _("lower is better")


class BuyerScale(models.TextChoices):
    """How a scorecard's merchant score is shown to buyers."""

    NONE = "", _("none")
    DOUYIN = "douyin_3_to_5", _("Douyin 3.0–5.0")


class Unit(models.TextChoices):
    PERCENT = "percent", _("% (the figure is a 0–1 rate)")
    HOURS = "hours", _("hours")
    SECONDS = "seconds", _("seconds")
    POINTS = "points", _("points (the platform's own score)")
    CNY = "cny", _("CNY")


class MetricCode(models.TextChoices):
    # DESIGN §5's table: each computed by metrics/definitions.py.
    REFUND_COMPLETION_TIME = "refund_completion_time", _("refund completion time (退款完结时长)")
    REFUND_ONLY_MERCHANT_TIME = "refund_only_merchant_time", _("refund-only merchant time (仅退款自主完结时长)")
    RETURN_MERCHANT_TIME = "return_merchant_time", _("return merchant time (退货退款自主完结时长)")
    DISPUTE_RATE = "dispute_rate", _("dispute rate (纠纷率)")
    QUALITY_REFUND_RATE = "quality_refund_rate", _("quality refund rate (品质退款率)")
    EXPERIENCE_REFUND_RATE = "experience_refund_rate", _("experience refund rate (商品体验退款率)")
    QUALITY_RETURN_RATE = "quality_return_rate", _("quality return rate (商品品质退货率)")
    REJECTION_RATE = "rejection_rate", _("rejection rate (售后拒绝率)")
    # Orders with a complaint or a merchant-liable dispute ÷ paid orders (seed 004, Douyin).
    PLATFORM_HELP_RATE = "platform_help_rate", _("platform help rate (平台求助率)")
    RETURN_REFUND_RATE = "return_refund_rate", _("return-refund rate (退货退款率)")
    COMPENSATION_PER_CASE = "compensation_per_case", _("compensation per case (赔偿单价)")
    REPURCHASE_RATE = "repurchase_rate", _("repurchase after after-sales (复购率)")
    FIRST_RESPONSE_TIME = "first_response_time", _("first response time (售后响应时间)")
    PICKUP_24H_RATE = "pickup_24h_rate", _("24-hour pickup rate (24小时揽收率)")
    # Pickup → signature.
    DELIVERY_TIME = "delivery_time", _("delivery time (订单配送时长)")

    # Douyin 商家体验分 (seed 004) and Douyin's rule 103956 (2026).
    NEGATIVE_REVIEW_RATE = "negative_review_rate", _("negative review rate (商品差评率)")
    SHIPPING_NEGATIVE_FEEDBACK_RATE = (
        "shipping_negative_feedback_rate",
        _("shipping negative feedback rate (发货问题负向反馈率)"),
    )
    # 飞鸽平均响应时长: sessions 08:00–22:59 only; an unanswered round counts 10 minutes.
    CHAT_RESPONSE_TIME = "chat_response_time", _("chat average response time (飞鸽平均响应时长)")
    PRODUCT_RATING = "product_rating", _("product overall rating (商品综合评分)")
    LOGISTICS_QUALITY_RETURN_RATE = (
        "logistics_quality_return_rate",
        _("shipping and logistics return rate (发货物流品退率)"),
    )
    # Application → agreement (for returns: → agreeing to the return); applications 23:00–08:00 count from 08:00.
    MERCHANT_REVIEW_TIME = "merchant_review_time", _("average review time (售后平均审核时长, Douyin 2026)")
    CHAT_DISSATISFACTION_RATE = "chat_dissatisfaction_rate", _("chat dissatisfaction rate (飞鸽会话不满意率)")
    # Orders escalated to the platform ÷ orders where the buyer asked the seller for help.
    HELP_ESCALATION_RATE = "help_escalation_rate", _("platform help rate, Douyin 2026 (平台求助率)")

    # Tmall/Taobao 店铺真实体验分 (rule 20009524).
    # Signed orders with a first-reason quality refund or a 1–2★ description rating ÷ signed orders.
    NEGATIVE_FEEDBACK_RATE = "negative_feedback_rate", _("product negative feedback rate (商品负反馈率)")
    POSITIVE_REVIEW_RATE = "positive_review_rate", _("positive review rate (商品好评率)")
    PICKUP_48H_RATE = "pickup_48h_rate", _("48-hour pickup rate (48小时揽收及时率)")
    # Payment → signature (not pickup → signature as DELIVERY_TIME).
    ARRIVAL_TIME = "arrival_time", _("arrival time (物流到货时长)")
    LOGISTICS_NEGATIVE_REVIEW_RATE = "logistics_negative_review_rate", _("logistics negative review rate (物流差评率)")
    # 08:00–23:00.
    CHAT_3MIN_RESPONSE_RATE = "chat_3min_response_rate", _("Wangwang 3-minute response rate (旺旺3分钟人工响应率)")
    CHAT_SATISFACTION_RATE = "chat_satisfaction_rate", _("Wangwang satisfaction (旺旺满意度)")
    # Σ seller handling time ÷ completed refunds.
    REFUND_HANDLING_TIME = "refund_handling_time", _("refund handling time (退款处理时长)")
    # (Disputes + complaints + buyer contacts to the platform) ÷ paid orders.
    PLATFORM_CONTACT_RATE = "platform_contact_rate", _("platform help rate, Tmall (平台求助率)")
    # Refunds the platform ruled for the buyer ÷ paid (sub-)orders; a common threshold is ≤ 3× the category average.
    DISPUTE_REFUND_RATE = "dispute_refund_rate", _("dispute refund rate (纠纷退款率)")


METRIC_UNITS: dict[str, str] = {
    MetricCode.REFUND_COMPLETION_TIME: Unit.HOURS,
    MetricCode.REFUND_ONLY_MERCHANT_TIME: Unit.HOURS,
    MetricCode.RETURN_MERCHANT_TIME: Unit.HOURS,
    MetricCode.DISPUTE_RATE: Unit.PERCENT,
    MetricCode.QUALITY_REFUND_RATE: Unit.PERCENT,
    MetricCode.EXPERIENCE_REFUND_RATE: Unit.PERCENT,
    MetricCode.QUALITY_RETURN_RATE: Unit.PERCENT,
    MetricCode.REJECTION_RATE: Unit.PERCENT,
    MetricCode.PLATFORM_HELP_RATE: Unit.PERCENT,
    MetricCode.RETURN_REFUND_RATE: Unit.PERCENT,
    MetricCode.COMPENSATION_PER_CASE: Unit.CNY,
    MetricCode.REPURCHASE_RATE: Unit.PERCENT,
    MetricCode.FIRST_RESPONSE_TIME: Unit.HOURS,
    MetricCode.PICKUP_24H_RATE: Unit.PERCENT,
    MetricCode.DELIVERY_TIME: Unit.HOURS,
    MetricCode.NEGATIVE_REVIEW_RATE: Unit.PERCENT,
    MetricCode.SHIPPING_NEGATIVE_FEEDBACK_RATE: Unit.PERCENT,
    MetricCode.CHAT_RESPONSE_TIME: Unit.SECONDS,
    MetricCode.PRODUCT_RATING: Unit.POINTS,
    MetricCode.LOGISTICS_QUALITY_RETURN_RATE: Unit.PERCENT,
    MetricCode.MERCHANT_REVIEW_TIME: Unit.HOURS,
    MetricCode.CHAT_DISSATISFACTION_RATE: Unit.PERCENT,
    MetricCode.HELP_ESCALATION_RATE: Unit.PERCENT,
    MetricCode.NEGATIVE_FEEDBACK_RATE: Unit.PERCENT,
    MetricCode.POSITIVE_REVIEW_RATE: Unit.PERCENT,
    MetricCode.PICKUP_48H_RATE: Unit.PERCENT,
    MetricCode.ARRIVAL_TIME: Unit.HOURS,
    MetricCode.LOGISTICS_NEGATIVE_REVIEW_RATE: Unit.PERCENT,
    MetricCode.CHAT_3MIN_RESPONSE_RATE: Unit.PERCENT,
    MetricCode.CHAT_SATISFACTION_RATE: Unit.PERCENT,
    MetricCode.REFUND_HANDLING_TIME: Unit.HOURS,
    MetricCode.PLATFORM_CONTACT_RATE: Unit.PERCENT,
    MetricCode.DISPUTE_REFUND_RATE: Unit.PERCENT,
}
