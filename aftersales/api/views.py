"""The core's REST resources (/api/v1/): orders, tickets with their moves, and approvals.

Reads go through the same per-shop selectors as the admin, so a list never shows another shop's rows; lists page by
cursor, newest first, with a fixed number of queries whatever the page holds. Writes call the same services as the
admin (the order import's plan/apply, `ticket_open`, `ticket_actions.perform`, `approval_decide`), so a program
meets exactly the rules and permissions a person meets, and each is idempotent (desk.api.support.idempotent).
"""

import hashlib

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from aftersales import services
from aftersales.models import (
    KNOWN_TICKET_KIND_CHOICES,
    AfterSalesTicket,
    ApprovalRequest,
    MerchantLiability,
    Order,
    OrderCorrection,
    OrderLine,
    Refund,
    ReturnReason,
    Shop,
    TicketKind,
    TicketState,
)
from aftersales.order_import import ORDER_FIELDS, PlannedOrder, plan_order_import
from aftersales.selectors import approvals_for_user, orders_for_user, shops_for_user, tickets_for_user
from aftersales.ticket_actions import ACTIONS, ACTIONS_BY_NAME, NOTE_MAX_LENGTH, TEXT_LIMITS, offered_actions, perform
from desk.api.support import IDEMPOTENCY_HEADER, CodeRelatedField, TextField, idempotent
from desk.api.views import CanViewModel, NewestFirst
from desk.errors import ActionRefused
from desk.input_checks import max_length_of


class CallerShopField(CodeRelatedField):
    """A shop by its code, among the caller's shops only: another shop reads as unknown."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Shop.objects.all(), **kwargs)

    def get_queryset(self):
        return shops_for_user(self.context["request"].user)


class OrderSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "shop",
            "platform_order_id",
            "buyer_nick",
            "province",
            "paid_amount",
            "paid_at",
            "packed_at",
            "shipped_at",
            "courier_code",
            "tracking_number",
            "delivered_at",
            "promised_ship_by",
            "is_presale",
            "is_custom_made",
            "needs_shipping",
            "refunded_amount",
        ]


def caller_order(request, data, *, related: tuple[str, ...] = ()) -> Order:
    """The order a write names by `shop` and `platform_order_id`, in a shop the caller works in; otherwise a 400 on
    platform_order_id (an order of another shop is not told apart from one that does not exist)."""
    orders = orders_for_user(request.user).filter(shop=data["shop"], platform_order_id=data["platform_order_id"])
    if related:
        orders = orders.select_related(*related)
    order = orders.first()
    if order is None:
        raise ValidationError({"platform_order_id": [_("No such order in this shop.")]})
    return order


class TicketSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    order = serializers.SlugRelatedField(slug_field="platform_order_id", read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)
    first_reason = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = AfterSalesTicket
        fields = [
            "id",
            "shop",
            "order",
            "platform_ticket_id",
            "kind",
            "platform_kind",
            "path",
            "state",
            "first_reason",
            "reason",
            "liability",
            "requested_amount",
            "escalation_risk",
            "opened_at",
            "deadline",
            "sla_due",
            "closed_at",
        ]


class OrderLineWriteSerializer(serializers.Serializer):
    sku = TextField(
        max_length=max_length_of(OrderLine, "sku"), help_text=gettext_lazy("SKU code, unique within the order.")
    )
    item_name = TextField(max_length=max_length_of(OrderLine, "item_name"))
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    paid_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text=gettext_lazy("What the buyer paid for this line (CNY).")
    )


class OrderWriteSerializer(serializers.Serializer):
    """An order as the marketplace or the ERP knows it; the same checks as the order import's rows. Texts are
    checked by input_checks (TextField) against their columns' lengths."""

    shop = CallerShopField()
    platform_order_id = TextField(max_length=max_length_of(Order, "platform_order_id"))
    buyer_nick = TextField(max_length=max_length_of(Order, "buyer_nick"), required=False, allow_blank=True)
    receiver_name = TextField(max_length=max_length_of(Order, "receiver_name"), required=False, allow_blank=True)
    receiver_phone = TextField(max_length=max_length_of(Order, "receiver_phone"), required=False, allow_blank=True)
    province = TextField(max_length=max_length_of(Order, "province"), required=False, allow_blank=True)
    city = TextField(max_length=max_length_of(Order, "city"), required=False, allow_blank=True)
    district = TextField(max_length=max_length_of(Order, "district"), required=False, allow_blank=True)
    address = TextField(max_length=max_length_of(Order, "address"), required=False, allow_blank=True)
    paid_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    paid_at = serializers.DateTimeField()
    packed_at = serializers.DateTimeField(required=False, allow_null=True)
    shipped_at = serializers.DateTimeField(required=False, allow_null=True)
    courier_code = TextField(max_length=max_length_of(Order, "courier_code"), required=False, allow_blank=True)
    tracking_number = TextField(max_length=max_length_of(Order, "tracking_number"), required=False, allow_blank=True)
    delivered_at = serializers.DateTimeField(required=False, allow_null=True)
    # What the platforms' logistics metrics need (seed 004); left out: in stock, ships, no promised time.
    promised_ship_by = serializers.DateTimeField(required=False, allow_null=True)
    is_presale = serializers.BooleanField(required=False, default=False)
    is_custom_made = serializers.BooleanField(required=False, default=False)
    needs_shipping = serializers.BooleanField(required=False, default=True)
    lines = OrderLineWriteSerializer(many=True, allow_empty=False, max_length=500)


class PendingPaidAmountSerializer(serializers.Serializer):
    """A raise of the paid amount that was not applied: it waits for a supervisor's confirmation."""

    id = serializers.IntegerField(help_text=gettext_lazy("The pending order correction."))
    status = serializers.ChoiceField(choices=[("pending", "pending")])
    current_paid_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    requested_paid_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    message = serializers.CharField()


class OrderWriteResultSerializer(OrderSerializer):
    result = serializers.ChoiceField(
        choices=PlannedOrder.Status.choices, help_text=gettext_lazy("new, updated or unchanged.")
    )
    paid_amount_correction = PendingPaidAmountSerializer(
        allow_null=True,
        help_text=gettext_lazy(
            "Set (and the answer is 202) when the push raised the paid amount of an order that already has tickets "
            "or refunds: that raise is not applied but waits for a supervisor's confirmation; the other fields were "
            "applied. null otherwise."
        ),
    )

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "result", "paid_amount_correction"]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders of the shops the caller works in."""

    serializer_class = OrderSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    # As the admin's order import: adding and changing orders.
    write_permissions = {"create": ["aftersales.add_order", "aftersales.change_order"]}
    filterset_fields = {"shop__code": ["exact"], "paid_at": ["gte", "lt"], "tracking_number": ["exact"]}

    def get_queryset(self):
        return orders_for_user(self.request.user).select_related("shop")

    @extend_schema(
        request=OrderWriteSerializer,
        responses={201: OrderWriteResultSerializer, 200: OrderWriteResultSerializer, 202: OrderWriteResultSerializer},
        description=gettext_lazy(
            "Create or update an order by (shop, platform_order_id): 201 when new, 200 when it existed. The lines "
            "are upserted by SKU; lines left out are kept. Idempotent by its own key. On an order that already has "
            "tickets or refunds, a higher paid_amount is not applied: it waits for a supervisor's confirmation, the "
            "answer is 202 and paid_amount_correction describes it (the other fields are applied). A paid_amount "
            "below what was already refunded answers 400 with code below_refunded and writes nothing."
        ),
    )
    @idempotent
    def create(self, request):
        incoming = OrderWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        shop, lines = data.pop("shop"), data.pop("lines")
        order_fields = {name: data.get(name) for name in ["platform_order_id", *ORDER_FIELDS]}
        # One import row per line, as a spreadsheet has them; `_row` numbers the lines from 0 for the errors.
        rows = [
            {
                **order_fields,
                "sku": line["sku"],
                "item_name": line["item_name"],
                "quantity": line["quantity"],
                "line_paid_amount": line["paid_amount"],
                "_row": index,
            }
            for index, line in enumerate(lines)
        ]
        plan = plan_order_import(shop=shop, rows=rows)
        below_refunded = [error for error in plan.errors if error.code == "below_refunded"]
        if below_refunded:
            raise ActionRefused("below_refunded", below_refunded[0].message)
        if plan.errors:
            raise ValidationError({"lines": {str(error.row_number): [error.message] for error in plan.errors}})
        summary = services.order_import_apply(
            plan=plan, by=request.user, reason=_("Pushed through the API"), source=OrderCorrection.Source.API
        )
        if summary.refused:
            raise ActionRefused("below_refunded", summary.refused[0].message)
        planned = plan.orders[0]
        order = self.get_queryset().get(shop=shop, platform_order_id=planned.platform_order_id)
        order.result = planned.status
        order.paid_amount_correction = None
        answer = status.HTTP_201_CREATED if planned.status == PlannedOrder.Status.NEW else status.HTTP_200_OK
        if summary.held:
            held = summary.held[0]
            order.paid_amount_correction = {
                "id": held.correction.pk,
                "status": held.correction.status,
                "current_paid_amount": held.current,
                "requested_paid_amount": held.requested,
                "message": _(
                    "The order has tickets or refunds: the paid amount stays ¥%(current)s until a supervisor "
                    "confirms the raise to ¥%(requested)s."
                )
                % {"current": held.current, "requested": held.requested},
            }
            answer = status.HTTP_202_ACCEPTED
        return Response(OrderWriteResultSerializer(order).data, status=answer)


class TicketCreateSerializer(serializers.Serializer):
    shop = CallerShopField()
    platform_order_id = TextField(max_length=max_length_of(Order, "platform_order_id"))
    kind = serializers.ChoiceField(
        choices=TicketKind.choices,
        help_text=gettext_lazy(
            "repair: the goods come back, are repaired and shipped back; price_protection: requested_amount is the "
            "price difference; unknown: a platform's type the desk does not know, with its code in platform_kind."
        ),
    )
    platform_kind = TextField(
        max_length=max_length_of(AfterSalesTicket, "platform_kind"),
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("The marketplace's own after-sales type code, as sent; required with kind unknown."),
    )
    reason = CodeRelatedField(
        slug_field="code",
        queryset=ReturnReason.objects.filter(is_active=True),
        help_text=gettext_lazy("A reason code of the taxonomy (GET /api/v1/reasons/)."),
    )
    requested_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("CNY; left out: what is left to refund on the order (0 for a reship or exchange)."),
    )
    buyer_message = TextField(max_length=NOTE_MAX_LENGTH, multiline=True, required=False, allow_blank=True)
    platform_ticket_id = TextField(
        max_length=max_length_of(AfterSalesTicket, "platform_ticket_id"),
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("The marketplace's after-sales id: a second push with it returns the same ticket."),
    )


class TicketActionSerializer(serializers.Serializer):
    """Every field any move reads; each move reads only its own (GET …/actions/ lists them)."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=Refund.Kind.choices, required=False)
    ticket_kind = serializers.ChoiceField(
        choices=KNOWN_TICKET_KIND_CHOICES,
        required=False,
        help_text=gettext_lazy("decide_kind: what a request of an unknown platform type is."),
    )
    note = TextField(max_length=TEXT_LIMITS["note"], multiline=True, required=False, allow_blank=True)
    reason = CodeRelatedField(slug_field="code", queryset=ReturnReason.objects.filter(is_active=True), required=False)
    courier_code = TextField(max_length=TEXT_LIMITS["courier_code"], required=False, allow_blank=True)
    tracking_number = TextField(max_length=TEXT_LIMITS["tracking_number"], required=False, allow_blank=True)
    case_number = TextField(max_length=TEXT_LIMITS["case_number"], required=False, allow_blank=True)
    evidence = TextField(max_length=TEXT_LIMITS["evidence"], multiline=True, required=False, allow_blank=True)
    liability = serializers.ChoiceField(choices=MerchantLiability.choices, required=False)


class TicketActionResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    ticket = TicketSerializer()


class OfferedActionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())


def ticket_actions_description() -> str:
    """The move route's documentation: each move of the catalogue with the fields it reads and the states it starts
    from, read from the catalogue (whose states are its transitions' sources) when the schema is made, so it
    includes the moves other apps register and never disagrees with what the route allows."""
    every_state = set(TicketState.values)
    moves = []
    for move in ACTIONS:
        fields = f" ({', '.join(move.fields)})" if move.fields else ""
        states = _("any state") if set(move.states) == every_state else ", ".join(move.states)
        moves.append(f"- `{move.name}`{fields}: {states}")
    return "\n\n".join(
        [
            _(
                "Make a move on the ticket, as the admin's buttons do. Each move, with the fields it reads and the "
                "states of the ticket it starts from:"
            ),
            "\n".join(moves),
            _("Answers the ticket after the move, or a 4xx whose code names the rule that refused."),
        ]
    )


ACTION_PARAMETER = OpenApiParameter(
    "action_name",
    str,
    OpenApiParameter.PATH,
    enum=sorted(ACTIONS_BY_NAME),
    description=gettext_lazy("The move, as GET …/actions/ names it."),
)


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """After-sales tickets (售后单) of the shops the caller works in."""

    serializer_class = TicketSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    # The services check the role and the shop again, with the same rule the admin meets.
    write_permissions = {"create": [services.tickets.OPEN], "act": [services.tickets.WORK]}
    filterset_fields = {
        "shop__code": ["exact"],
        "state": ["exact", "in"],
        "path": ["exact"],
        "kind": ["exact"],
        "reason__category": ["exact"],
        "opened_at": ["gte", "lt"],
    }

    def get_queryset(self):
        return tickets_for_user(self.request.user).select_related("shop", "order", "reason", "first_reason")

    @extend_schema(
        request=TicketCreateSerializer,
        responses={201: TicketSerializer, 200: TicketSerializer},
        description=gettext_lazy(
            "Open a ticket for an order: the path, clocks and deadline are derived, and the path-1 rule applies at "
            "once. 201 when opened; 200 when a ticket with the same platform_ticket_id already existed."
        ),
    )
    @idempotent
    def create(self, request):
        incoming = TicketCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        order = caller_order(request, data, related=("shop__platform",))
        ticket, opened = services.ticket_open_or_find(
            order=order,
            kind=data["kind"],
            reason=data["reason"],
            by=request.user,
            requested_amount=data.get("requested_amount"),
            buyer_message=data.get("buyer_message", ""),
            platform_ticket_id=data.get("platform_ticket_id", ""),
            platform_kind=data.get("platform_kind", ""),
        )
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED if opened else status.HTTP_200_OK)

    @extend_schema(responses=OfferedActionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="actions")
    def offered(self, request, pk=None):
        """The moves this caller may make on this ticket now (the service still decides)."""
        ticket = self.get_object()
        return Response(
            [
                {"name": move.name, "label": str(move.label), "fields": list(move.fields)}
                for move in offered_actions(ticket, request.user)
            ]
        )

    @extend_schema(
        request=TicketActionSerializer,
        responses=TicketActionResultSerializer,
        parameters=[ACTION_PARAMETER],
        description=lazy(ticket_actions_description, str)(),
    )
    @action(detail=True, methods=["post"], url_path=r"actions/(?P<action_name>[a-z_]+)")
    @idempotent
    def act(self, request, pk=None, action_name=None):
        ticket = self.get_object()
        incoming = TicketActionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = {key: value for key, value in incoming.validated_data.items() if value is not None}
        if "reason" in data:
            data["reason"] = data["reason"].pk
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        refund_key = None
        if key:
            # The refund row's own unique key, so even a replay past this layer cannot pay twice. Bound to the caller
            # and the ticket: a key one user picks can never be one another user's refund needs.
            digest = hashlib.sha256(f"{request.user.pk}:{ticket.pk}:{key}".encode()).hexdigest()[:40]
            refund_key = f"api-{request.user.pk}-{ticket.pk}-{digest}"
        message = perform(ticket=ticket, by=request.user, name=action_name, data=data, idempotency_key=refund_key)
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response({"message": message, "ticket": TicketSerializer(ticket).data})


class ApprovalSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "shop",
            "ticket",
            "amount",
            "refund_kind",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "due_at",
            "escalated_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ApprovalDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text=gettext_lazy("true approves (the refund starts); false declines."))
    note = TextField(
        max_length=NOTE_MAX_LENGTH,
        multiline=True,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Required when declining."),
    )


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """审批: refunds above the requesting agent's authority, for a supervisor of the shop."""

    serializer_class = ApprovalSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    write_permissions = {"decide": [services.tickets.DECIDE]}
    filterset_fields = {"shop__code": ["exact"], "status": ["exact"], "due_at": ["gte", "lt"]}

    def get_queryset(self):
        return approvals_for_user(self.request.user).select_related("shop", "requested_by", "decided_by")

    @extend_schema(request=ApprovalDecisionSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def decide(self, request, pk=None):
        """Approve or decline, with the rules of the supervisors' queue (not your own request, within your
        authority)."""
        approval = self.get_object()
        incoming = ApprovalDecisionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.approval_decide(
            approval=approval,
            by=request.user,
            approve=incoming.validated_data["approve"],
            note=incoming.validated_data.get("note", ""),
        )
        return Response(ApprovalSerializer(self.get_queryset().get(pk=approval.pk)).data)


class ReasonSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = ReturnReason
        fields = ["code", "label", "label_zh", "label_en", "category", "default_liability", "is_active"]


class ReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The reason taxonomy (退款原因) that tickets and pushes are mapped onto."""

    serializer_class = ReasonSerializer
    pagination_class = None
    filterset_fields = {"category": ["exact"], "is_active": ["exact"]}

    def get_queryset(self):
        return ReturnReason.objects.all()
