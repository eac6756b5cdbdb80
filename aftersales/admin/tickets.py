"""Admins for tickets and approvals: the agents' queue, the ticket page with its moves, the supervisors' queue.

Nothing here writes a ticket field: the buttons post to `act/<name>/`, which calls `ticket_actions.perform` (one
service), and the supervisors' decision calls `approval_decide`. A refused move comes back as the rule's message.
"""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from aftersales.clocks import duration_text, ticket_clock, ticket_clocks
from aftersales.gateways import BatchFileGateway
from aftersales.models import (
    KNOWN_TICKET_KIND_CHOICES,
    OPEN_TICKET_STATES,
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    MerchantLiability,
    Refund,
    ReturnReason,
    Shop,
    TicketEvent,
    TicketKind,
    TicketState,
)
from aftersales.money import format_yuan
from aftersales.selectors import (
    assignable_users,
    orders_for_user,
    remaining_authority_for,
    shops_for_user,
    ticket_guidance,
    ticket_search,
    unread_declines_for,
)
from aftersales.services import (
    approval_acknowledge_decline,
    approval_decide,
    approvals_decide,
    cutoff_confirm_hold,
    cutoff_mark_gone,
    ticket_approve_refund,
    ticket_assign,
    ticket_open,
)
from aftersales.services.approvals import BULK_DECISION_LIMIT
from aftersales.ticket_actions import REMEDY_LADDER, offered_actions, perform
from aftersales.ticket_links import links_for, links_for_tickets, panels_for
from desk.access import DECIDE, WORK
from desk.admin.paging import CappedCountAdminMixin
from desk.admin.scoping import ReadOnlyInline, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused

BATCH_REFUND_LIMIT = 200
DEFAULT_REFUND_KIND = {
    TicketKind.COMPENSATION: Refund.Kind.COMPENSATION,
    TicketKind.PRICE_PROTECTION: Refund.Kind.PRICE_DIFFERENCE,
}


class OverdueFilter(admin.SimpleListFilter):
    """Open tickets past our SLA or the platform's deadline."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("sla", gettext_lazy("past our SLA")), ("deadline", gettext_lazy("past the platform deadline"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "sla":
            return queryset.filter(state__in=OPEN_TICKET_STATES, sla_due__lt=now)
        if self.value() == "deadline":
            return queryset.filter(state__in=OPEN_TICKET_STATES, deadline__lt=now)
        return queryset


class DefaultChoiceFilter(admin.SimpleListFilter):
    """A filter whose unfiltered state is itself a choice (`default_label`), e.g. "open" or "pending"."""

    default_label = ""

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": self.default_label,
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class OpenFilter(DefaultChoiceFilter):
    """The queue shows open tickets unless asked otherwise: a busy day has far more closed than open."""

    default_label = gettext_lazy("open")
    title = gettext_lazy("open or closed")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("all", gettext_lazy("All")), ("closed", gettext_lazy("closed"))]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "closed":
            return queryset.exclude(state__in=OPEN_TICKET_STATES)
        return queryset.filter(state__in=OPEN_TICKET_STATES)


class AssigneeFilter(DefaultChoiceFilter):
    """Each agent's queue starts with their own tickets and those nobody has taken yet; "all" is one click away."""

    default_label = gettext_lazy("mine and unassigned")
    title = gettext_lazy("assignee")
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [
            ("all", gettext_lazy("All")),
            ("mine", gettext_lazy("mine")),
            ("unassigned", gettext_lazy("unassigned")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(Q(assignee=request.user) | Q(assignee__isnull=True))


def _state_label(value: str) -> str:
    return TicketState(value).label if value in TicketState.values else value


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["at", "actor", "action_label", "from_label", "to_label", "amount", "note"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = gettext_lazy("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=gettext_lazy("action"))
    def action_label(self, event):
        return event.get_action_display()

    @admin.display(description=gettext_lazy("from"))
    def from_label(self, event):
        return _state_label(event.from_state)

    @admin.display(description=gettext_lazy("to"))
    def to_label(self, event):
        return _state_label(event.to_state)


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["kind", "amount", "progress", "requested_by", "created_at", "sent_at", "confirmed_at", "failure_reason"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("status"))
    def progress(self, refund):
        """Where the money is: the ticket stays 退款中 until the marketplace confirms, and this says why."""
        if refund.status == Refund.Status.PENDING:
            if refund.send_started_at is not None:
                return _("pending: being sent to the marketplace")
            if refund.gateway == BatchFileGateway.name:
                return _("pending: waiting for the shop's next batch-refund file")
            return _("pending: not sent yet")
        if refund.status == Refund.Status.SENT and refund.batch_id is not None:
            return _("sent, awaiting the marketplace (batch %(batch)s)") % {"batch": refund.batch_id}
        return refund.get_status_display()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")


class ApprovalInline(ReadOnlyInline):
    model = ApprovalRequest
    fields = ["amount", "status", "requested_by", "due_at", "decided_by", "decision_note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by", "decided_by")


class TicketOpenForm(forms.Form):
    """An agent opens a ticket for a request that came by chat or phone; the service derives the rest.

    The order is found by the number the buyer quotes (the platform's order id) within the agent's shops; the
    shop is asked for only when the same number exists in two of them.
    """

    platform_order_id = forms.CharField(label=gettext_lazy("platform order id"), max_length=64)
    shop = forms.ModelChoiceField(label=gettext_lazy("shop"), queryset=Shop.objects.none(), required=False)
    # An agent knows what the buyer asks; "unknown" is only for a platform's type the desk cannot map.
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=KNOWN_TICKET_KIND_CHOICES)
    reason = forms.ModelChoiceField(label=gettext_lazy("reason"), queryset=ReturnReason.objects.filter(is_active=True))
    requested_amount = forms.CharField(label=gettext_lazy("requested amount (CNY)"), required=False, max_length=20)
    buyer_message = forms.CharField(label=gettext_lazy("buyer message"), required=False, widget=forms.Textarea)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.orders = orders_for_user(user)
        self.fields["shop"].queryset = shops_for_user(user)
        self.fields["shop"].help_text = gettext_lazy("Only needed when two of your shops have this order number.")

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("platform_order_id") or "").strip()
        if not number:
            return cleaned
        matches = self.orders.filter(platform_order_id=number)
        if cleaned.get("shop"):
            matches = matches.filter(shop=cleaned["shop"])
        found = list(matches[:2])
        if not found:
            self.add_error("platform_order_id", _("No order with this number in your shops."))
        elif len(found) > 1:
            self.add_error("shop", _("Two of your shops have this order number; choose the shop."))
        else:
            cleaned["order"] = found[0]
        return cleaned


@admin.register(AfterSalesTicket)
class AfterSalesTicketAdmin(CappedCountAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    # What an agent needs to pick the next ticket, narrow enough for a 1440 px laptop beside the filters: the
    # order number and shop ride under the ticket number, the two clocks become one countdown.
    list_display = [
        "ticket_number",
        "path_badge",
        "state_badge",
        "buyer",
        "amount",
        "countdown",
        "attention",
        "assignee_name",
    ]
    list_display_links = ["ticket_number"]
    list_select_related = ["shop", "order", "reason", "assignee"]
    change_list_template = "admin/aftersales/aftersalesticket/change_list.html"
    list_filter = [
        AssigneeFilter,
        OpenFilter,
        "path",
        "state",
        "shop",
        "reason__category",
        OverdueFilter,
        "escalation_risk",
        "kind",
    ]
    # Only shows the search box: get_search_results does the matching (aftersales.selectors.ticket_search).
    search_fields = ["=order__platform_order_id"]
    search_help_text = gettext_lazy(
        "Order number (or its last digits), platform refund id, outbound or return waybill, buyer nick, "
        "receiver phone (or its last 4 digits)."
    )
    ordering = ["-escalation_risk", "deadline", "id"]
    list_per_page = 50
    actions = ["batch_refund"]
    inlines = [TicketEventInline, RefundInline, ApprovalInline]
    change_form_template = "admin/aftersales/aftersalesticket/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("shop", "order", "platform_ticket_id"),
                    ("path", "kind", "platform_kind", "state"),
                    ("first_reason", "reason", "liability"),
                    ("requested_amount", "escalation_risk", "assignee"),
                    "buyer_message",
                    "attention_note",
                ]
            },
        ),
        (
            gettext_lazy("clocks"),
            {"fields": [("opened_at", "deadline", "sla_due", "closed_at")]},
        ),
        (gettext_lazy("return"), {"fields": [("return_courier_code", "return_tracking_number")]}),
        (gettext_lazy("the shop's choices"), {"fields": ["lost_parcel_remedy"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """One box for whatever the buyer quotes; each branch reads an index (trigram ones for the parts on
        PostgreSQL), at a million tickets too. Django's own search would wrap every column in UPPER(), which no
        index serves."""
        return ticket_search(queryset, search_term, shops=shops_for_user(request.user)), False

    def get_readonly_fields(self, request, obj=None):
        return [*(field.name for field in self.model._meta.fields), "lost_parcel_remedy"]

    @admin.display(description=gettext_lazy("remedy for a lost parcel"))
    def lost_parcel_remedy(self, ticket):
        """The shop's choice (its settings page) the lost-parcel rule follows when nobody asked yet."""
        return ticket.shop.get_lost_parcel_remedy_display()

    def has_change_permission(self, request, obj=None):
        # Rows are never edited: every change is a move on the page, through a service.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the queue's columns ---

    @admin.display(description=gettext_lazy("ticket"), ordering="id")
    def ticket_number(self, ticket):
        return format_html(
            '#{}<small class="desk-sub">{}</small><small class="desk-sub desk-sub-wrap">{}</small>',
            ticket.pk,
            ticket.order.platform_order_id,
            ticket.shop.name,
        )

    @admin.display(description=gettext_lazy("path"), ordering="path")
    def path_badge(self, ticket):
        return format_html('<span class="desk-path desk-path-{}">{}</span>', ticket.path, ticket.get_path_display())

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_badge(self, ticket):
        return format_html(
            '<span class="desk-state desk-state-{}">{}</span><small class="desk-sub desk-sub-wrap">{}</small>',
            ticket.state,
            ticket.get_state_display(),
            ticket.reason,
        )

    @admin.display(description=pgettext_lazy("queue column", "buyer"), ordering="order__buyer_nick")
    def buyer(self, ticket):
        return ticket.order.buyer_nick

    @admin.display(description=gettext_lazy("amount"), ordering="requested_amount")
    def amount(self, ticket):
        return format_html('<span class="desk-amount">{}</span>', format_yuan(ticket.requested_amount))

    @admin.display(description=gettext_lazy("time left"), ordering="deadline")
    def countdown(self, ticket):
        return _clock_html(ticket_clock(ticket))

    @admin.display(description=gettext_lazy("attention"))
    def attention(self, ticket):
        marks = []
        if ticket.escalation_risk:
            marks.append(format_html('<span class="desk-flag desk-flag-risk">{}</span>', _("complaint risk")))
        if ticket.attention_note:
            marks.append(format_html('<span class="desk-flag" title="{}">{}</span>', ticket.attention_note, _("note")))
        return format_html(" ".join(["{}"] * len(marks)), *marks) if marks else ""

    @admin.display(description=gettext_lazy("assignee"), ordering="assignee__username")
    def assignee_name(self, ticket):
        if ticket.assignee is None:
            return format_html('<span class="desk-unassigned">{}</span>', _("unassigned"))
        return ticket.assignee.get_full_name() or ticket.assignee.get_username()

    # --- pages ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/act/<slug:name>/", view(self.act_view), name="aftersales_aftersalesticket_act"),
            path("<int:object_id>/assign/", view(self.assign_view), name="aftersales_aftersalesticket_assign"),
            path(
                "declines/<int:approval_id>/read/",
                view(self.decline_read_view),
                name="aftersales_aftersalesticket_decline_read",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        # The order page's "open a ticket" link fills in the order number and shop.
        initial = {key: request.GET[key] for key in ("platform_order_id", "shop") if key in request.GET}
        form = TicketOpenForm(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                ticket = ticket_open(
                    order=data["order"],
                    kind=data["kind"],
                    reason=data["reason"],
                    by=request.user,
                    requested_amount=data["requested_amount"] or None,
                    buyer_message=data["buyer_message"],
                )
            except ActionRefused as refusal:
                form.add_error(None, str(refusal.message))
            else:
                self.message_user(request, _("Ticket #%(id)s opened.") % {"id": ticket.pk}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Open a ticket"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/aftersales/aftersalesticket/open.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, object_id)
        extra = {}
        if ticket is not None:
            actions = offered_actions(ticket, request.user)
            by_name = {action.name: action for action in actions}
            ladder = [by_name[name] for name in REMEDY_LADDER if name in by_name]
            extra = {
                "ladder": ladder,
                "other_actions": [action for action in actions if action.name not in REMEDY_LADDER],
                "remaining_authority": remaining_authority_for(user=request.user, ticket=ticket),
                "refundable_amount": ticket.order.refundable_amount,
                "refund_kinds": Refund.Kind.choices,
                "ticket_kinds": KNOWN_TICKET_KIND_CHOICES,
                # The refund form starts on the kind the ticket's own refund would have (退差价 for 价保).
                "default_refund_kind": DEFAULT_REFUND_KIND.get(ticket.kind, Refund.Kind.PARTIAL),
                "liabilities": MerchantLiability.choices,
                "reasons": ReturnReason.objects.filter(is_active=True),
                "ticket": ticket,
                "related_links": links_for(ticket, request.user),
                "clocks": ticket_clocks(ticket),
                "order_lines": list(ticket.order.lines.all()),
                "panels": panels_for(ticket, request.user),
                **self._assignment_context(request, ticket),
                "guidance": ticket_guidance(ticket, ladder=ladder),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def changelist_view(self, request, extra_context=None):
        # One query, whatever the queue holds: the declines this agent has not read yet, at the top of the queue.
        extra = {"declines": unread_declines_for(request.user)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def _assignment_context(self, request, ticket) -> dict:
        """The take button for an agent of the shop, and the assign form for a supervisor of it."""
        user = request.user
        if not ticket.is_open:
            return {}
        may_assign = user.has_perm(DECIDE)
        may_take = user.has_perm(WORK) and ticket.assignee_id != user.pk and (ticket.assignee_id is None or may_assign)
        return {
            "may_take": may_take,
            "assignable_users": list(assignable_users(ticket.shop)) if may_assign else [],
        }

    def assign_view(self, request, object_id):
        """接单 (no `assignee` posted: the user takes it) or 派单 (a supervisor names the agent)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = get_object_or_404(self.get_queryset(request), pk=object_id)
        assignee = request.user
        if request.POST.get("assignee"):
            candidates = assignable_users(ticket.shop)
            assignee = (
                candidates.filter(pk=request.POST["assignee"]).first() if request.POST["assignee"].isdigit() else None
            )
            if assignee is None:
                self.message_user(request, _("Choose someone who works tickets in this shop."), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
        try:
            ticket = ticket_assign(ticket=ticket, by=request.user, assignee=assignee)
        except ActionRefused as refusal:
            self.message_user(request, str(refusal.message), messages.ERROR)
        else:
            name = assignee.get_full_name() or assignee.get_username()
            message = (
                _("You took this ticket.") if assignee == request.user else _("Assigned to %(user)s.") % {"user": name}
            )
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))

    def decline_read_view(self, request, approval_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        approval = get_object_or_404(ApprovalRequest, pk=approval_id, requested_by=request.user)
        try:
            approval_acknowledge_decline(approval=approval, by=request.user)
        except ActionRefused as refusal:
            self.message_user(request, str(refusal.message), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:aftersales_aftersalesticket_changelist"))

    def act_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = get_object_or_404(self.get_queryset(request), pk=object_id)
        try:
            message = perform(ticket=ticket, by=request.user, name=name, data=request.POST.dict())
        except ActionRefused as refusal:
            self.message_user(request, str(refusal.message), messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))

    # --- 批量退款 ---

    @admin.action(description=gettext_lazy("Refund the selected tickets (批量退款)"), permissions=["work"])
    def batch_refund(self, request, queryset):
        """First a confirmation page with what each ticket would get, then a summary of what happened."""
        tickets = list(queryset.select_related("order", "shop").order_by("deadline", "id")[: BATCH_REFUND_LIMIT + 1])
        if len(tickets) > BATCH_REFUND_LIMIT:
            self.message_user(
                request,
                _("Select at most %(limit)s tickets for one batch refund.") % {"limit": BATCH_REFUND_LIMIT},
                messages.ERROR,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "tickets": tickets,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "total": sum((ticket.requested_amount for ticket in tickets), Decimal("0.00")),
        }
        if request.POST.get("confirm") != "yes":
            context["title"] = _("Refund %(count)s tickets?") % {"count": len(tickets)}
            return TemplateResponse(request, "admin/aftersales/aftersalesticket/batch_refund_confirm.html", context)
        results = {"refunded": [], "approval": [], "refused": []}
        for ticket in tickets:
            try:
                decision = ticket_approve_refund(
                    ticket=ticket, by=request.user, note=_("Batch refund"), idempotency_key=None
                )
            except ActionRefused as refusal:
                results["refused"].append((ticket, str(refusal.message)))
            else:
                results["approval" if decision.approval else "refunded"].append((ticket, decision))
        context.update(title=_("Batch refund: result"), results=results)
        return TemplateResponse(request, "admin/aftersales/aftersalesticket/batch_refund_result.html", context)

    def has_work_permission(self, request):
        return request.user.has_perm("aftersales.work_ticket")


def _time_left_cell(moment):
    """ "3时20分 left", or in red "overdue 45分": what a supervisor reads to pick the next request (the queue's
    countdown wording, from aftersales.clocks)."""
    remaining = moment - timezone.now()
    span = duration_text(abs(remaining))
    if remaining < timedelta(0):
        return format_html('<span class="desk-overdue">{}</span>', _("overdue %(span)s") % {"span": span})
    return _("%(span)s left") % {"span": span}


def _clock_html(clock):
    """The countdown's cell: the time left (red when overdue), which clock it is and when it falls due."""
    if clock.level == "closed":
        return format_html('<span class="desk-clock desk-clock-closed">{}</span>', clock.text)
    return format_html(
        '<span class="desk-clock desk-clock-{}" data-due="{}" title="{} {}">{}</span>'
        '<small class="desk-sub">{} {}</small>',
        clock.level,
        clock.due.isoformat(),
        clock.label,
        clock.local_due,
        clock.text,
        clock.short_label,
        clock.local_due,
    )


def _clock_cell(moment, is_open):
    local = timezone.localtime(moment).strftime("%m-%d %H:%M")
    if is_open and moment < timezone.now():
        return format_html('<span class="desk-overdue">{}</span>', local)
    return local


class PendingFilter(DefaultChoiceFilter):
    """The supervisors' queue shows pending requests unless asked otherwise."""

    default_label = ApprovalRequest.Status.PENDING.label
    title = gettext_lazy("status")
    parameter_name = "decision"

    def lookups(self, request, model_admin):
        return [("all", gettext_lazy("All")), *ApprovalRequest.Status.choices[1:]]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value() or ApprovalRequest.Status.PENDING)


class ApprovalOverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Yes"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=ApprovalRequest.Status.PENDING, due_at__lt=timezone.now())
        return queryset


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ExactSearchMixin, CappedCountAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    """审批队列: pending requests by due time, overdue ones in red, with what a supervisor needs to decide from the
    list (path, buyer message, order total, already refunded, evidence, time left); approve or decline one on its
    page, or several at once (one note for all declines), each through `approval_decide`."""

    list_display = [
        "request_number",
        "ticket_link",
        "path_badge",
        "amount_cell",
        "order_money",
        "buyer_message_cell",
        "evidence_cell",
        "requested_by",
        "time_left",
        "status",
    ]
    list_select_related = ["shop", "ticket__order", "requested_by", "decided_by"]
    list_filter = [PendingFilter, "shop", ApprovalOverdueFilter]
    # The supervisor looks a request up by the order number the agent quotes (exact, from its index).
    search_fields = ["=ticket__order__platform_order_id"]
    ordering = ["due_at", "id"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["approve_selected", "decline_selected"]
    change_form_template = "admin/aftersales/approvalrequest/change_form.html"
    fields = [
        ("shop", "ticket"),
        ("amount", "refund_kind"),
        "reason",
        ("requested_by", "requested_at", "due_at"),
        ("status", "decided_by", "decided_at"),
        "decision_note",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False  # requests come from a ticket's refund above authority or "ask a supervisor"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request):
        return request.user.has_perm("aftersales.decide_approvalrequest")

    def get_changelist_instance(self, request):
        """The page's evidence links in one go (each app that holds evidence answers for the whole page)."""
        changelist = super().get_changelist_instance(request)
        changelist.result_list = list(changelist.result_list)
        links = links_for_tickets({approval.ticket_id for approval in changelist.result_list}, request.user)
        for approval in changelist.result_list:
            approval.evidence_links = links.get(approval.ticket_id, [])
        return changelist

    @admin.display(description=gettext_lazy("request"), ordering="id")
    def request_number(self, approval):
        return f"#{approval.pk}"

    @admin.display(description=gettext_lazy("ticket"))
    def ticket_link(self, approval):
        url = reverse("admin:aftersales_aftersalesticket_change", args=[approval.ticket_id])
        # The order number is in the link's title: 19 digits would take a column's width from the buyer's message.
        number = approval.ticket.order.platform_order_id
        return format_html('<a href="{}" title="{}">#{}</a>', url, number, approval.ticket_id)

    @admin.display(description=gettext_lazy("path"), ordering="ticket__path")
    def path_badge(self, approval):
        ticket = approval.ticket
        return format_html(
            '<span class="desk-path desk-path-{}" style="white-space: normal">{}</span>',
            ticket.path,
            ticket.get_path_display(),
        )

    @admin.display(description=gettext_lazy("amount (CNY)"), ordering="amount")
    def amount_cell(self, approval):
        return format_html("{}<br><small>{}</small>", format_yuan(approval.amount), approval.get_refund_kind_display())

    @admin.display(description=gettext_lazy("order total / already refunded"))
    def order_money(self, approval):
        order = approval.ticket.order
        return format_html(
            '<span class="desk-order-total">{}</span><br><small class="desk-refunded">{}</small>',
            format_yuan(order.paid_amount),
            _("refunded %(amount)s") % {"amount": format_yuan(order.refunded_amount)},
        )

    @admin.display(description=gettext_lazy("buyer message"))
    def buyer_message_cell(self, approval):
        message = approval.ticket.buyer_message
        return format_html('<span class="desk-message" title="{}">{}</span>', message, Truncator(message).chars(24))

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_cell(self, approval):
        links = getattr(approval, "evidence_links", [])
        pairs = ((url, label) for label, url in links)
        return format_html_join(" ", '<a href="{}" class="desk-evidence">{}</a>', pairs)

    @admin.display(description=gettext_lazy("time left"), ordering="due_at")
    def time_left(self, approval):
        if approval.status != ApprovalRequest.Status.PENDING:
            return ""
        return _time_left_cell(approval.due_at)

    # --- 批量审批: one decision for several requests ---

    @admin.action(description=gettext_lazy("Approve the selected requests"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        return self._decide_selected(request, queryset, approve=True)

    @admin.action(description=gettext_lazy("Decline the selected requests (one note for all)"), permissions=["decide"])
    def decline_selected(self, request, queryset):
        return self._decide_selected(request, queryset, approve=False)

    def _decide_selected(self, request, queryset, *, approve):
        """A confirmation page with the requests (and, to decline, the note), then one message per outcome listing
        each request."""
        pending = queryset.filter(status=ApprovalRequest.Status.PENDING).select_related("ticket__order", "requested_by")
        approvals = list(pending.order_by("due_at", "id")[: BULK_DECISION_LIMIT + 1])
        if not approvals:
            self.message_user(request, _("None of the selected requests is pending."), messages.WARNING)
            return None
        note = request.POST.get("note", "").strip()
        error = ""
        if request.POST.get("confirm") == "yes":
            try:
                results = approvals_decide(approvals=approvals, by=request.user, approve=approve, note=note)
            except ActionRefused as refusal:
                error = str(refusal.message)
            else:
                self._report(request, results)
                return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": (_("Approve %(count)d requests?") if approve else _("Decline %(count)d requests?"))
            % {"count": len(approvals)},
            "approvals": approvals,
            "approve": approve,
            "note": note,
            "error": error,
            "action": "approve_selected" if approve else "decline_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "total": sum((approval.amount for approval in approvals), Decimal("0.00")),
            "own_requests": [approval for approval in approvals if approval.requested_by_id == request.user.pk],
        }
        return TemplateResponse(request, "admin/aftersales/approvalrequest/bulk_decide.html", context)

    def _report(self, request, results):
        decided = [result for result in results if result.decided]
        refused = [result for result in results if not result.decided]
        if decided:
            lines = "; ".join(f"#{result.approval.pk} {result.message}" for result in decided)
            self.message_user(request, _("Decided: %(lines)s.") % {"lines": lines}, messages.SUCCESS)
        if refused:
            lines = "; ".join(f"#{result.approval.pk} {result.message}" for result in refused)
            self.message_user(request, _("Not decided: %(lines)s") % {"lines": lines}, messages.ERROR)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/decide/", view(self.decide_view), name="aftersales_approvalrequest_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        approval = self.get_object(request, object_id)
        extra = {}
        if approval is not None:
            extra = {
                "can_decide": approval.status == ApprovalRequest.Status.PENDING
                and request.user.has_perm("aftersales.decide_approvalrequest")
                and approval.requested_by_id != request.user.pk,
                "approval": approval,
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def decide_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        approval = get_object_or_404(self.get_queryset(request), pk=object_id)
        approve = request.POST.get("decision") == "approve"
        try:
            approval_decide(approval=approval, by=request.user, approve=approve, note=request.POST.get("note", ""))
        except ActionRefused as refusal:
            self.message_user(request, str(refusal.message), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:aftersales_approvalrequest_change", args=[approval.pk]))
        self.message_user(request, _("Approved; the refund has started.") if approve else _("Declined."))
        return HttpResponseRedirect(reverse("admin:aftersales_approvalrequest_changelist"))


@admin.register(CutOffRequest)
class CutOffRequestAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """截单: packed orders whose buyer asked for a refund; the warehouse holds them or says they left."""

    list_display = ["id", "shop", "ticket", "status", "requested_at", "due", "decided_by", "decided_at"]
    list_select_related = ["shop", "ticket__order", "decided_by"]
    list_filter = ["status", "shop"]
    ordering = ["requested_at", "id"]
    show_full_result_count = False
    actions = ["mark_held", "mark_gone"]
    readonly_fields = [
        "ticket",
        "shop",
        "status",
        "requested_at",
        "due_at",
        "overdue_flagged_at",
        "decided_by",
        "decided_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("answer due at"), ordering="due_at")
    def due(self, cutoff):
        """Red once the warehouse's time has run out (at the due time itself) and it has not answered."""
        local = timezone.localtime(cutoff.due_at).strftime("%m-%d %H:%M")
        if cutoff.is_overdue():
            return format_html('<span class="desk-overdue">{}</span>', local)
        return local

    def has_delete_permission(self, request, obj=None):
        return False

    def has_confirm_permission(self, request):
        return request.user.has_perm("aftersales.confirm_cutoffrequest")

    @admin.action(description=gettext_lazy("Held in the warehouse: refund now"), permissions=["confirm"])
    def mark_held(self, request, queryset):
        self._answer(request, queryset, cutoff_confirm_hold)

    @admin.action(description=gettext_lazy("Already shipped: back to the agent"), permissions=["confirm"])
    def mark_gone(self, request, queryset):
        self._answer(request, queryset, cutoff_mark_gone)

    def _answer(self, request, queryset, service):
        done, refused = 0, []
        for cutoff in queryset.filter(status=CutOffRequest.Status.REQUESTED):
            try:
                service(cutoff=cutoff, by=request.user)
                done += 1
            except ActionRefused as refusal:
                refused.append(f"#{cutoff.pk}: {refusal.message}")
        self.message_user(request, _("%(count)s cut-offs answered.") % {"count": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)
