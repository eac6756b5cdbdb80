"""Reads. Every list a user sees starts from `shops_for_user`, so no door shows another shop's rows."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from aftersales import replies
from aftersales.models import (
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    EscalationAlert,
    EscalationWord,
    Order,
    Refund,
    RefundAuthority,
    ReplyTemplate,
    Shop,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
    TicketState,
)
from aftersales.money import YuanMax, YuanSum

# Who may act where is the ground floor's (desk.access); the names stay readable here, beside the reads built on them.
from desk.access import SHOP_PERMISSION as SHOP_PERMISSION
from desk.access import SHOP_PERMISSION_CODENAME as SHOP_PERMISSION_CODENAME
from desk.access import is_system_user as is_system_user
from desk.access import shops_for_user as shops_for_user
from desk.access import system_user as system_user
from desk.access import user_covers_all_shops as user_covers_all_shops
from desk.access import user_works_in_shop as user_works_in_shop
from desk.input_checks import normalise_tracking_number


def shops_using_platform(platform) -> QuerySet[Shop]:
    """The shops on a platform (its deadlines are theirs). A platform no shop is on yet is every shop's to come, so it
    counts as used by all of them."""
    shops = Shop.objects.filter(platform=platform)
    return shops if shops.exists() else Shop.objects.all()


def user_may_edit_platform(user, platform) -> bool:
    return user_covers_all_shops(user, shops_using_platform(platform).values("pk"))


def orders_for_user(user) -> QuerySet[Order]:
    return Order.objects.filter(shop__in=shops_for_user(user)).select_related("shop__platform")


def tickets_for_user(user) -> QuerySet[AfterSalesTicket]:
    return AfterSalesTicket.objects.filter(shop__in=shops_for_user(user)).select_related(
        "shop", "order", "reason", "first_reason"
    )


def approvals_for_user(user) -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.filter(shop__in=shops_for_user(user)).select_related(
        "shop", "ticket__order", "requested_by", "decided_by"
    )


# An order-number or phone tail shorter than this matches too many orders to mean anyone.
SEARCH_TAIL_MIN = 4
# A buyer nick is found by a part of it from three characters (the trigram index needs three); a term of digits only
# is a number (an order's or a phone's tail), not a part of a nick.
SEARCH_PART_MIN = 3
# More orders than this for one term is not a search that found the buyer; the queue shows the first of them. A
# 4-digit tail meets about 100 phones and 100 order numbers in a million orders.
SEARCH_ORDERS_MAX = 300
# The matching tickets read at most: those 300 orders hold a few each (232 tickets for a 4-digit phone tail at a
# million tickets); a buyer with more is found by a longer term.
SEARCH_TICKETS_MAX = 1000


def order_search_q(term: str) -> Q:
    """The orders a term the agent typed or heard can mean: the whole order number or its tail, the outbound
    waybill, the buyer's nick (or a part of it), the receiver's phone (whole or its last four digits). The
    parts are matched case-sensitively (LIKE, not UPPER() LIKE) so that PostgreSQL's trigram indexes
    (migration 0031) serve them; order numbers, waybills and phones have no case anyway."""
    compact = "".join(term.split()).replace("-", "")
    matches = (
        Q(platform_order_id=term)
        | Q(tracking_number=normalise_tracking_number(term))
        | Q(buyer_nick=term)
        | Q(receiver_phone=compact)
    )
    if compact.isdigit() and len(compact) >= SEARCH_TAIL_MIN:
        matches |= Q(platform_order_id__endswith=compact) | Q(receiver_phone__endswith=compact)
    if len(term) >= SEARCH_PART_MIN and not compact.isdigit():
        matches |= Q(buyer_nick__contains=term)
    return matches


def ticket_search(tickets: QuerySet[AfterSalesTicket], term: str, *, shops) -> QuerySet[AfterSalesTicket]:
    """The queue's one search box: tickets whose order `order_search_q` finds among `shops`' orders, or whose
    platform refund id or return waybill is the term. Costs two queries besides the list's own, whatever the term:
    the order ids, read off their indexes, then the ids of the matching tickets.

    The list is then asked for those ticket ids alone. Given the order ids instead, PostgreSQL guessed thousands of
    matches at a million tickets and walked the queue's ordering index until it had a page: 146,000 rows and
    850 ms for a phone's last four digits that matched 232 tickets."""
    term = term.strip()
    if not term:
        return tickets
    order_ids = list(
        Order.objects.filter(order_search_q(term), shop__in=shops)
        .order_by()
        .values_list("pk", flat=True)[:SEARCH_ORDERS_MAX]
    )
    ticket_ids = list(
        tickets.filter(
            Q(order_id__in=order_ids)
            | Q(platform_ticket_id=term)
            | Q(return_tracking_number=normalise_tracking_number(term))
        )
        .order_by()
        .values_list("pk", flat=True)[:SEARCH_TICKETS_MAX]
    )
    return tickets.filter(pk__in=ticket_ids)


def unread_declines_for(user, *, limit: int = 20) -> list[ApprovalRequest]:
    """The requests a supervisor declined that `user` asked for and has not marked read, newest first: the top of
    their queue."""
    return list(
        ApprovalRequest.objects.filter(
            requested_by=user, status=ApprovalRequest.Status.DECLINED, acknowledged_at__isnull=True
        )
        .select_related("ticket__order", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def assignable_users(shop: Shop) -> QuerySet:
    """The active people who work tickets in `shop` (assigned to it, directly or through a group, with the work
    permission from their role or their own): whom a supervisor may give a ticket of the shop."""
    shop_permission = {
        "permission__codename": SHOP_PERMISSION_CODENAME,
        "permission__content_type__app_label": "aftersales",
    }
    in_shop = Exists(
        ShopUserObjectPermission.objects.filter(content_object=shop, user=OuterRef("pk"), **shop_permission)
    ) | Exists(
        ShopGroupObjectPermission.objects.filter(content_object=shop, group__user=OuterRef("pk"), **shop_permission)
    )
    work = {"codename": "work_ticket", "content_type__app_label": "aftersales"}
    works_tickets = Q(is_superuser=True) | Q(
        pk__in=get_user_model()
        .objects.filter(
            Q(**{f"groups__permissions__{key}": value for key, value in work.items()})
            | Q(**{f"user_permissions__{key}": value for key, value in work.items()})
        )
        .values("pk")
    )
    return (
        get_user_model()
        .objects.filter(Q(in_shop) | Q(is_superuser=True), works_tickets, is_active=True)
        .order_by("username")
    )


def refund_authority_for(*, user, shop_id: int) -> Decimal | None:
    """The most `user` may refund on one order in the shop without approval (see authority_used); None: no limit.

    The highest of the user's own authority and their groups' (逐级授权). Superusers (the shop owner) and the
    system user have no limit here; the automatic rules carry their own caps.
    """
    if user.is_superuser or is_system_user(user):
        return None
    found = RefundAuthority.objects.filter(shop_id=shop_id).filter(Q(user=user) | Q(group__user=user))
    return found.aggregate(limit=YuanMax("max_amount"))["limit"] or ZERO


def authority_used(*, user, order_id: int, ticket_id: int | None = None) -> Decimal:
    """What counts against `user`'s authority before a refund on this order: every refund they made on any ticket of
    the order (three ¥197 compensations are one ¥591 decision), and whatever this ticket already got from anyone."""
    on_this_ticket = Q(ticket_id=ticket_id) if ticket_id is not None else Q(pk__in=[])
    total = (
        Refund.objects.filter(order_id=order_id)
        .filter(Q(requested_by=user) | on_this_ticket)
        .exclude(status=Refund.Status.FAILED)
        .aggregate(s=YuanSum("amount"))
    )
    return total["s"] or ZERO


def authority_used_by_orders(*, user, order_ids) -> dict[int, Decimal]:
    """authority_used for many orders at once (the sweep's batches), one query; orders without refunds are absent."""
    rows = (
        Refund.objects.filter(order_id__in=list(order_ids), requested_by=user)
        .exclude(status=Refund.Status.FAILED)
        .values("order_id")
        .annotate(s=YuanSum("amount"))
    )
    return {row["order_id"]: row["s"] for row in rows}


def remaining_authority_for(*, user, ticket: AfterSalesTicket) -> Decimal | None:
    """What `user` may still refund on this ticket without a supervisor (None: no limit)."""
    limit = refund_authority_for(user=user, shop_id=ticket.shop_id)
    if limit is None:
        return None
    return max(ZERO, limit - authority_used(user=user, order_id=ticket.order_id, ticket_id=ticket.pk))


def escalation_words() -> list[str]:
    return list(EscalationWord.objects.filter(is_active=True).values_list("word", flat=True))


def unconfirmed_refunds_q(now) -> Q:
    """Sent refunds the marketplace has not confirmed within their shop's `unconfirmed_refund_hours` of `now`.

    One condition per distinct number of hours (shops share a handful), so the query is the same on every database."""
    hours = Shop.objects.order_by().values_list("unconfirmed_refund_hours", flat=True).distinct()
    overdue = Q(pk__in=[])
    for value in hours:
        overdue |= Q(shop__unconfirmed_refund_hours=value, sent_at__lt=now - timedelta(hours=value))
    return Q(status=Refund.Status.SENT) & overdue


def unconfirmed_refunds(shops, *, now=None) -> QuerySet[Refund]:
    """日清 and the dashboard: the shops' sent refunds still unconfirmed past their shop's hours, oldest first."""
    return Refund.objects.filter(unconfirmed_refunds_q(now or timezone.now()), shop__in=shops).order_by("sent_at")


def reply_templates_for(ticket) -> list[tuple[ReplyTemplate, str]]:
    """The reply templates (快捷短语) that fit the ticket, each with its text filled in, in one query: the shop's own
    and the house defaults, where a shop's template replaces the default of the same title (an inactive one hides
    it). The ticket comes with its order."""
    chosen: dict[str, ReplyTemplate] = {}
    candidates = ReplyTemplate.objects.filter(Q(shop_id=ticket.shop_id) | Q(shop__isnull=True))
    for template in candidates.order_by("sort_order", "id"):
        if template.shop_id is not None or template.title not in chosen:
            chosen[template.title] = template
    values = replies.values_for(ticket)
    fitting = sorted(
        (template for template in chosen.values() if template.is_active and template.fits(ticket)),
        key=lambda template: (template.sort_order, template.pk),
    )
    return [(template, replies.fill(template.text, values)) for template in fitting]


@dataclass(frozen=True)
class TicketGuidance:
    """What the ticket page says about the ticket's stage beyond its moves (issue 22): whether its platform deadline
    has passed, and the prompts the seeds' rules give the agent."""

    deadline_passed: bool
    # 已收到货仅退款 (seed 004): the buyer is asked to change the request (proposed) or let it run out (expired).
    return_proposal: str
    # Seed 004: the escalation word the buyer wrote (投诉, 12315, 曝光, 差评), and the remedy ladder's next step the
    # agent is prompted to offer as a second concession (二次让步): one of the ladder's offered moves.
    escalation_word: str = ""
    second_concession: object = None


# A compensation or a partial refund already paid is the ladder's first rung (能补不换): the concession made.
CONCESSION_KINDS = [Refund.Kind.COMPENSATION, Refund.Kind.PARTIAL]


def ticket_guidance(ticket: AfterSalesTicket, *, ladder=(), now=None) -> TicketGuidance:
    """`ladder` is the remedy ladder's moves offered on the ticket now, cheapest first (ticket_actions)."""
    now = now or timezone.now()
    waiting = ticket.state == TicketState.REQUESTED
    # An alert is written only where the ticket was marked a complaint risk: no query for the calm ones.
    marked = ticket.is_open and ticket.escalation_risk
    alert = EscalationAlert.objects.filter(ticket=ticket).only("word").first() if marked else None
    concession = None
    if alert is not None and ladder:
        conceded = (
            Refund.objects.filter(ticket=ticket, kind__in=CONCESSION_KINDS)
            .exclude(status=Refund.Status.FAILED)
            .exists()
        )
        # The first rung is compensating; once that was made, the second concession is the next rung offered.
        rungs = [action for action in ladder if not (conceded and action.name == "refund")]
        concession = rungs[0] if rungs else None
    return TicketGuidance(
        # As the queue's red cell and its overdue filter: past, not at, the deadline.
        deadline_passed=ticket.deadline < now,
        return_proposal=ticket.return_proposal if waiting else "",
        escalation_word=alert.word if alert else "",
        second_concession=concession,
    )
