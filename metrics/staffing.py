"""人员配备: how many after-sales agents a sales peak needs, and the inputs the shop's own last 30 days suggest.

The formula is the domain's (DESIGN §5, seed 000):

    refunds           = GMV × refund rate ÷ average order value
    other after-sales ≈ refunds × 40%
    total             = refunds + other after-sales
    agents            = total ÷ one agent's daily capacity ÷ days to finish, rounded up

Worked example: ¥20,000,000 × 5% ÷ ¥250 = 4,000 refunds; 4,000 × 40% = 1,600; 5,600 cases ÷ 100 a day ÷ 7 days = 8.

Rounding, in this one place: refunds are rounded half up to whole cases, other after-sales is 40% of those rounded
refunds, again half up, so the table the user reads adds up (refunds + other = total). Agents are rounded up: a
fraction of a workload still needs a person. Everything is Decimal or int; never float.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db.models import Count
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Order, TicketKind
from aftersales.money import YuanSum

OTHER_AFTER_SALES_SHARE = Decimal("0.40")
HISTORY_DAYS = 30
# The tickets that count as a refund for the refund rate: exchanges, reships, repairs, compensations and price
# protections (价保) do not return money for the order; they are part of the "other after-sales" the 40% stands for.
REFUND_KINDS = (TicketKind.REFUND_ONLY, TicketKind.RETURN_REFUND)
WHOLE = Decimal(1)
CENT = Decimal("0.01")
# A refund rate to 0.01 % (the form takes percent with two decimals from the history).
RATE_STEP = Decimal("0.0001")
# Significant digits for GMV × rate ÷ AOV. The form's bounds need 28 (Decimal's default) at most; callers outside
# the form get the same exact half-up rounding up to 60 digits instead of a truncated quotient or InvalidOperation.
PRECISION = 60


@dataclass(frozen=True)
class StaffingForecast:
    gmv: Decimal
    refund_rate: Decimal
    average_order_value: Decimal
    daily_capacity: int
    days: int
    refunds: int
    other_after_sales: int
    total: int
    agents: int

    @property
    def refund_rate_percent(self) -> Decimal:
        return self.refund_rate * 100


def staffing_forecast(
    *, gmv: Decimal, refund_rate: Decimal, average_order_value: Decimal, daily_capacity: int, days: int
) -> StaffingForecast:
    """The agents needed to finish the peak's after-sales in `days`. `refund_rate` is a fraction (0.05 for 5 %).

    Raises ValueError for inputs the formula has no answer for (negative GMV or rate, a rate above 1, an average order
    value of zero or less, a capacity or a number of days below 1); the form refuses them first.
    """
    gmv, refund_rate, average_order_value = Decimal(gmv), Decimal(refund_rate), Decimal(average_order_value)
    for name, value in (("gmv", gmv), ("refund_rate", refund_rate), ("average_order_value", average_order_value)):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite number")
    if gmv < 0:
        raise ValueError("gmv must not be negative")
    if not 0 <= refund_rate <= 1:
        raise ValueError("refund_rate is a fraction between 0 and 1")
    if average_order_value <= 0:
        raise ValueError("average_order_value must be more than zero")
    if isinstance(daily_capacity, bool) or not isinstance(daily_capacity, int) or daily_capacity < 1:
        raise ValueError("daily_capacity must be a whole number of at least 1")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError("days must be a whole number of at least 1")

    with localcontext() as context:
        context.prec = PRECISION
        refunds = int((gmv * refund_rate / average_order_value).quantize(WHOLE, rounding=ROUND_HALF_UP))
        other_after_sales = int((refunds * OTHER_AFTER_SALES_SHARE).quantize(WHOLE, rounding=ROUND_HALF_UP))
    total = refunds + other_after_sales
    # Whole numbers, so the ceiling is exact integer arithmetic: 5,600 ÷ 700 → 8, 5,601 ÷ 700 → 9.
    agents = -(-total // (daily_capacity * days))
    return StaffingForecast(
        gmv=gmv,
        refund_rate=refund_rate,
        average_order_value=average_order_value,
        daily_capacity=daily_capacity,
        days=days,
        refunds=refunds,
        other_after_sales=other_after_sales,
        total=total,
        agents=agents,
    )


def staffing_inputs_from_history(*, shops, now=None) -> dict:
    """The forecast's inputs as `shops` (a Shop queryset, or shops or ids) saw them in the 30 days before `now`.

    - gmv: the paid amount of the orders paid in the window;
    - refund_rate: distinct orders with a refund-only or return-and-refund ticket opened in the window ÷ the orders
      paid in the window (a fraction, to 0.01 %). Like the platforms' refund rate, a ticket counts by when it was
      opened, whenever its order was paid, so the late refunds of the window's own orders are stood in for;
    - average_order_value: gmv ÷ orders paid in the window, to the cent.

    With no paid order in the window all three are None ("no data": never 0 or 100 %); an average order value of
    zero (only free orders) is None as well. Two aggregate queries, whatever the history's size.
    """
    until = now or timezone.now()
    since = until - timedelta(days=HISTORY_DAYS)
    orders = Order.objects.filter(shop__in=shops, paid_at__gte=since, paid_at__lt=until).aggregate(
        gmv=YuanSum("paid_amount"), paid_orders=Count("id")
    )
    refunded = AfterSalesTicket.objects.filter(
        shop__in=shops, kind__in=REFUND_KINDS, opened_at__gte=since, opened_at__lt=until
    ).aggregate(refunded_orders=Count("order", distinct=True))
    paid_orders = orders["paid_orders"]
    refunded_orders = refunded["refunded_orders"]
    inputs = {
        "since": since,
        "until": until,
        "paid_orders": paid_orders,
        "refunded_orders": refunded_orders,
        "gmv": None,
        "refund_rate": None,
        "average_order_value": None,
    }
    if paid_orders:
        gmv = orders["gmv"]
        average_order_value = (gmv / paid_orders).quantize(CENT, rounding=ROUND_HALF_UP)
        inputs.update(
            gmv=gmv,
            refund_rate=(Decimal(refunded_orders) / paid_orders).quantize(RATE_STEP, rounding=ROUND_HALF_UP),
            average_order_value=average_order_value if average_order_value > 0 else None,
        )
    return inputs
