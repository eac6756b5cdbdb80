"""人员配备: the staffing forecast page. A GET form, so a forecast's URL can be shared and reopened.

Without inputs (or with "fill in"), the form starts from the chosen shop's last 30 days (all the user's shops when
none is chosen) and the default capacity and days. With inputs, it shows the forecast or the form's errors. A shop
that is not the user's is "not found" (404) before any figure is computed.
"""

from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from aftersales.money import to_yuan
from aftersales.selectors import shops_for_user
from desk.pages import permission_any, render_page
from metrics.forms import DEFAULT_DAILY_CAPACITY, DEFAULT_DAYS, INPUT_FIELDS, StaffingForm
from metrics.staffing import OTHER_AFTER_SALES_SHARE, staffing_inputs_from_history

VIEW_DASHBOARD = "metrics.view_dashboard"
# The button that refills the inputs from the chosen shop's history instead of calculating.
FILL = "fill"
# The history's refund rate is to 0.01 %, so its percent has two decimals.
PERCENT_STEP = Decimal("0.01")


def chosen_shop(request, shops):
    """The shop of `?shop=`, or None for all the user's shops; another shop's id is not found."""
    shop_id = request.GET.get("shop", "").strip()
    if not shop_id:
        return None
    shop = shops.filter(pk=shop_id).first() if shop_id.isdigit() else None
    if shop is None:
        raise Http404
    return shop


@require_GET
@permission_any(VIEW_DASHBOARD)
def staffing_forecast(request):
    shops = shops_for_user(request.user)
    shop = chosen_shop(request, shops)
    history = staffing_inputs_from_history(shops=shops.filter(pk=shop.pk) if shop else shops)
    forecast = None
    if FILL not in request.GET and any(name in request.GET for name in INPUT_FIELDS):
        form = StaffingForm(request.GET, user=request.user)
        if form.is_valid():
            forecast = form.forecast()
    else:
        rate = history["refund_rate"]
        form = StaffingForm(
            initial={
                "shop": shop,
                # Yuan with two places, as a person types them (never a sum's "157578.700000000").
                "gmv": to_yuan(history["gmv"]),
                "refund_rate": None if rate is None else (rate * 100).quantize(PERCENT_STEP),
                "average_order_value": to_yuan(history["average_order_value"]),
                "daily_capacity": DEFAULT_DAILY_CAPACITY,
                "days": DEFAULT_DAYS,
            },
            user=request.user,
        )
    context = {
        "form": form,
        "forecast": forecast,
        "shop": shop,
        "history": history,
        "history_rate_percent": None if history["refund_rate"] is None else history["refund_rate"] * 100,
        "fill": FILL,
        "other_share_percent": int(OTHER_AFTER_SALES_SHARE * 100),
    }
    return render_page(request, "metrics/staffing.html", context, title=_("Staffing forecast"), section="staffing")
