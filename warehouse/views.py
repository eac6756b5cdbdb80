"""The warehouse's own pages: receiving station (收货台), inspection (验货), cut-offs (截单), daily clearance (日清).

Each view parses the clerk's input, checks the permission, calls one service and shows the service's refusal. Lists
come from the selectors, limited to the user's shops; a row of another shop is "not found" (404), never "forbidden".
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.models import CutOffRequest, TicketKind
from aftersales.selectors import shops_for_user, unconfirmed_refunds
from aftersales.services import cutoff_confirm_hold, cutoff_mark_gone
from desk.access import HANDLE_RETURNS, WORK
from desk.errors import ActionRefused
from desk.pages import permission_any, render_page
from warehouse.forms import InspectionForm, ScanForm, UnexpectedParcelForm
from warehouse.models import Evidence, Inspection, ReturnParcel
from warehouse.selectors import (
    clearance_counts,
    clearance_inspected_not_refunded,
    clearance_received_not_inspected,
    cutoffs_waiting,
    early_exchanges_without_return,
    parcels_for_user,
)
from warehouse.services import (
    inspection_record,
    normalise_tracking_number,
    return_receive_scan,
    return_register_unexpected,
)

VIEW_EVIDENCE = "warehouse.view_evidence"
# Long lists are a sign of a backlog, not something to page through at the bench: show the oldest, count the rest.
LIST_LIMIT = 200
WAITING_LIMIT = 30
# Refusals about the uploaded files belong next to the file input; the others above the form.
FILE_REFUSALS = {"evidence_type", "evidence_size", "evidence_required"}


def _render(request, template, context, *, title, section):
    context = {"can_handle_returns": request.user.has_perm(HANDLE_RETURNS), **context}
    return render_page(request, template, context, title=title, section=section)


def _station_url(**query) -> str:
    url = reverse("warehouse:station")
    return f"{url}?{urlencode(query)}" if query else url


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else ""


# --- 收货台 -------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_any(HANDLE_RETURNS)
def station(request):
    """Scan a return: found → received and on to its inspection; unknown → say so and offer to register it."""
    if request.method == "POST":
        form = ScanForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Scan or type the tracking number."))
            return redirect("warehouse:station")
        try:
            scan = return_receive_scan(tracking_number=form.cleaned_data["tracking_number"], by=request.user)
        except ActionRefused as refusal:
            messages.error(request, str(refusal.message))
            return redirect("warehouse:station")
        if scan.parcel is None:
            if scan.claims_withdrawn:
                messages.success(
                    request,
                    _(
                        "This parcel was claimed from the courier as intercepted or lost; it is back, so "
                        "%(count)d claim(s) were withdrawn. Register it below."
                    )
                    % {"count": scan.claims_withdrawn},
                )
            return redirect(_station_url(unknown=normalise_tracking_number(form.cleaned_data["tracking_number"])))
        parcel = scan.parcel
        if scan.already_received:
            messages.warning(
                request,
                _("%(number)s was already received on %(when)s by %(who)s; nothing was recorded twice.")
                % {
                    "number": parcel.tracking_number,
                    "when": _when(parcel.received_at),
                    "who": parcel.received_by or "—",
                },
            )
        else:
            messages.success(
                request,
                _("Received %(number)s for ticket #%(ticket)s.")
                % {"number": parcel.tracking_number, "ticket": parcel.ticket_id},
            )
        return redirect("warehouse:inspect", parcel_id=parcel.pk)

    unknown = normalise_tracking_number(request.GET.get("unknown", ""))
    register_form = None
    if unknown:
        shops = list(shops_for_user(request.user).order_by("name")[:2])
        initial = {"tracking_number": unknown, "shop": shops[0] if len(shops) == 1 else None}
        register_form = UnexpectedParcelForm(initial=initial, user=request.user)
    return _station_page(request, unknown=unknown, register_form=register_form)


def _station_page(request, *, unknown="", register_form=None):
    waiting = (
        parcels_for_user(request.user)
        .filter(status=ReturnParcel.Status.RECEIVED)
        .order_by("received_at", "id")[:WAITING_LIMIT]
    )
    context = {"scan_form": ScanForm(), "unknown": unknown, "register_form": register_form, "waiting": waiting}
    return _render(request, "warehouse/station.html", context, title=_("Receiving station"), section="station")


@require_POST
@permission_any(HANDLE_RETURNS)
def register_unexpected(request):
    form = UnexpectedParcelForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            parcel = return_register_unexpected(
                tracking_number=form.cleaned_data["tracking_number"],
                shop=form.cleaned_data["shop"],
                by=request.user,
                note=form.cleaned_data["note"],
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal.message))
        else:
            messages.success(
                request,
                _("%(number)s is registered as an unexpected return; an agent will match it to its ticket.")
                % {"number": parcel.tracking_number},
            )
            return redirect("warehouse:station")
    unknown = normalise_tracking_number(request.POST.get("tracking_number", ""))
    return _station_page(request, unknown=unknown, register_form=form)


# --- 验货 ---------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_any(HANDLE_RETURNS)
def inspect(request, parcel_id):
    """The scanned parcel: what was expected, and the inspection form while it is received and not yet inspected."""
    parcel = get_object_or_404(parcels_for_user(request.user), pk=parcel_id)
    ticket = parcel.ticket
    lines = list(ticket.order.lines.order_by("id")) if ticket else []
    can_inspect = ticket is not None and parcel.status == ReturnParcel.Status.RECEIVED
    form = None
    if can_inspect:
        form = InspectionForm(request.POST or None, request.FILES or None, lines=lines)
    if request.method == "POST":
        if form is None:
            messages.error(request, _("Only a received, not yet inspected parcel can be inspected."))
            return redirect("warehouse:inspect", parcel_id=parcel.pk)
        if form.is_valid():
            try:
                inspection = inspection_record(
                    parcel=parcel,
                    by=request.user,
                    result=form.cleaned_data["result"],
                    notes=form.cleaned_data["notes"],
                    quantities=form.quantities(),
                    files=form.cleaned_data["files"],
                )
            except ActionRefused as refusal:
                form.add_error("files" if refusal.code in FILE_REFUSALS else None, str(refusal.message))
            else:
                messages.success(request, _inspected_message(parcel, inspection))
                return redirect("warehouse:station")
    inspection = None
    if parcel.status == ReturnParcel.Status.INSPECTED:
        inspection = (
            Inspection.objects.select_related("inspected_by")
            .prefetch_related("lines__order_line", "evidence")
            .filter(parcel=parcel)
            .first()
        )
    context = {
        "scan_form": ScanForm(),
        "parcel": parcel,
        "ticket": ticket,
        "order": ticket.order if ticket else None,
        "lines": lines,
        "form": form,
        "inspection": inspection,
    }
    return _render(
        request,
        "warehouse/inspect.html",
        context,
        title=_("Inspect %(number)s") % {"number": parcel.tracking_number},
        section="station",
    )


def _inspected_message(parcel, inspection) -> str:
    number = parcel.tracking_number
    if not inspection.is_clean:
        return _("%(number)s inspected: %(result)s. The ticket is back with the agent, with your evidence.") % {
            "number": number,
            "result": inspection.get_result_display(),
        }
    if parcel.ticket.kind == TicketKind.EXCHANGE:
        return _("%(number)s inspected: ok. The exchange is resolved.") % {"number": number}
    if parcel.ticket.kind == TicketKind.REPAIR:
        return _("%(number)s inspected: ok. The goods go to repair; record their waybill when they go back.") % {
            "number": number
        }
    return _("%(number)s inspected: ok. The refund has started.") % {"number": number}


@require_GET
@login_required
def evidence(request, evidence_id):
    """Stream one evidence file to someone who may see its shop's evidence; anyone else learns nothing (404)."""
    if not request.user.is_active or not request.user.has_perm(VIEW_EVIDENCE):
        raise Http404
    item = get_object_or_404(
        Evidence.objects.filter(inspection__parcel__shop__in=shops_for_user(request.user)), pk=evidence_id
    )
    try:
        stream = item.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        stream, content_type=item.content_type, filename=f"{item.sha256[:16]}.{item.extension}", as_attachment=False
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- 截单 ---------------------------------------------------------------------------------------------------------


@require_GET
@permission_any(HANDLE_RETURNS)
def cutoffs(request):
    waiting = list(cutoffs_waiting(request.user).prefetch_related("ticket__order__lines")[: LIST_LIMIT + 1])
    context = {
        "cutoffs": waiting[:LIST_LIMIT],
        "more": len(waiting) > LIST_LIMIT,
        "limit": LIST_LIMIT,
        "now": timezone.now(),
    }
    return _render(request, "warehouse/cutoffs.html", context, title=_("Cut-offs"), section="cutoffs")


@require_POST
@permission_any(HANDLE_RETURNS)
def cutoff_answer(request, cutoff_id):
    """Held in the warehouse (→ refund) or already shipped (→ back to the agent)."""
    cutoff = get_object_or_404(
        CutOffRequest.objects.filter(shop__in=shops_for_user(request.user)).select_related("ticket__order"),
        pk=cutoff_id,
    )
    number = cutoff.ticket.order.platform_order_id
    decision = request.POST.get("decision")
    try:
        if decision == "held":
            cutoff_confirm_hold(cutoff=cutoff, by=request.user)
            messages.success(request, _("Order %(order)s is held; the refund has started.") % {"order": number})
        elif decision == "gone":
            cutoff_mark_gone(cutoff=cutoff, by=request.user, note=request.POST.get("note", "").strip())
            messages.success(
                request,
                _("Order %(order)s had already shipped; the ticket is back with the agent.") % {"order": number},
            )
        else:
            messages.error(request, _("Choose held or already shipped."))
    except ActionRefused as refusal:
        messages.error(request, str(refusal.message))
    return redirect("warehouse:cutoffs")


# --- 日清 ---------------------------------------------------------------------------------------------------------


@require_GET
@permission_any(HANDLE_RETURNS, WORK)
def clearance(request):
    """What is left from before today, oldest first, with the counts of each list at the top."""
    user = request.user
    counts = clearance_counts(user)
    unconfirmed = unconfirmed_refunds(shops_for_user(user))
    context = {
        "counts": counts,
        "limit": LIST_LIMIT,
        "received": clearance_received_not_inspected(user).order_by("received_at", "id")[:LIST_LIMIT],
        "not_refunded": clearance_inspected_not_refunded(user).order_by("inspected_at", "id")[:LIST_LIMIT],
        "early": early_exchanges_without_return(user)[:LIST_LIMIT],
        "unconfirmed_count": unconfirmed.count(),
        "unconfirmed": unconfirmed.select_related("shop", "order")[:LIST_LIMIT],
    }
    return _render(request, "warehouse/clearance.html", context, title=_("Daily clearance"), section="clearance")
