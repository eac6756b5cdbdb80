"""The refund gateway (aftersales.gateways.RefundGateway) that routes per shop: a shop connected to its platform's
API agrees the refund there; any other shop gets the batch file, as before.

`name` is read by aftersales after each call: it says which way this refund went ("batch_file", "taobao_api", …).

For a connected shop:
- `send` reads the record first (Taobao's pushes carry no refund_version, and a write needs the current one), then
  agrees it. Agreed means SENT: the refund is succeeded only when the platform's record says SUCCESS (`status`, or
  the sync that sees it). An unclear answer (timeout, 5xx) raises RefundGatewayUnavailable: the refund stays claimed
  and is settled by `status`, which reads the record: agreed already → confirmed; still waiting for the seller →
  not found, and only then is it sent again. So an agreement is never repeated blindly.
- The platform's demand for an SMS code (large amounts, Taobao) cannot be met by the desk: the refund goes to the
  shop's batch file instead, and the ticket is flagged for the agent with the platform's words.
- A broken connection or one paused by a rate limit sends nothing (RefundGatewayUnavailable): the refund waits.
- A business refusal fails the refund with the platform's message; the ticket goes back to the agent with it.
"""

import logging
from typing import Any

from django.utils.translation import gettext as _

from aftersales.gateways import (
    BatchFileGateway,
    RefundGatewayUnavailable,
    SendOutcome,
    SendResult,
    StatusOutcome,
    StatusResult,
)
from aftersales.models import Refund
from aftersales.selectors import system_user
from aftersales.services import tickets_flag_for_agent
from marketplaces.adapters import get_adapter
from marketplaces.adapters.base import (
    AfterSaleRecord,
    BusinessRefusal,
    OutcomeUnknown,
    PlatformError,
    RecordStatus,
    RefundAgreement,
    VerificationCodeRequired,
    split_agreements,
)
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import connection_may_call, credentials_for, handle_platform_error

logger = logging.getLogger(__name__)

# The record waits for the seller's agreement in these states: "not agreed yet" (status() says NOT_FOUND).
AGREEABLE = {RecordStatus.WAITING_SELLER, RecordStatus.WAITING_SELLER_CONFIRM, RecordStatus.RETURN_SHIPPED}
REFUSED = {RecordStatus.CLOSED, RecordStatus.CLOSED_BY_BUYER, RecordStatus.SELLER_REFUSED}


def connection_for_refund(refund: Refund) -> ShopConnection | None:
    connection = (
        ShopConnection.objects.filter(shop_id=refund.shop_id, is_enabled=True).select_related("shop__platform").first()
    )
    if connection is None:
        return None
    if _pays_price_differences(connection, refund):
        return connection  # the seller's own payment on the order: no buyer's record needed
    if not refund.ticket.platform_ticket_id:
        return None  # a ticket the platform never sent (opened by hand) has no record to agree: the batch file
    return connection


def _pays_price_differences(connection: ShopConnection, refund: Refund) -> bool:
    """A price difference (退差价 / 价保) at a platform with a call of its own for it (WeChat shop's refundpricediff,
    whose request_id is the refund's idempotency key)."""
    return refund.kind == Refund.Kind.PRICE_DIFFERENCE and hasattr(
        get_adapter(connection.platform_code), "refund_price_difference"
    )


def _price_difference_sku(refund: Refund) -> str | None:
    """The item a price difference is paid on: the order's only line. With several the desk does not know which item
    the buyer's price protection is about (a ticket names no line), so it is not sent through the API."""
    skus = list(refund.order.lines.values_list("sku", flat=True)[:2])
    return skus[0] if len(skus) == 1 else None


def gateway_name(connection: ShopConnection) -> str:
    return f"{connection.platform_code}_api"


class MarketplaceRefundGateway:
    name = BatchFileGateway.name

    def send(self, refund: Refund) -> SendResult:
        connection = connection_for_refund(refund)
        if connection is None:
            self.name = BatchFileGateway.name
            return BatchFileGateway().send(refund)
        self.name = gateway_name(connection)
        if not connection_may_call(connection):
            raise RefundGatewayUnavailable(_("The shop's platform connection is broken or paused; the refund waits."))
        adapter = get_adapter(connection.platform_code)
        credentials = credentials_for(connection)
        if _pays_price_differences(connection, refund):
            return self._pay_price_difference(connection, refund)
        platform_id = refund.ticket.platform_ticket_id
        try:
            record = adapter.read(credentials, platform_id)  # the current version: writes carry it
        except PlatformError as error:
            handle_platform_error(connection, error)
            raise RefundGatewayUnavailable(f"{type(error).__name__}: {error.message}") from error
        if record.status == RecordStatus.SUCCEEDED:
            return SendResult(SendOutcome.SENT, reference=platform_id)  # already refunded there: status confirms
        if record.status in REFUSED:
            return SendResult(
                SendOutcome.FAILED,
                error=_("The platform's after-sales record is %(status)s; it cannot be refunded there.")
                % {"status": record.platform_status},
            )
        agreement = RefundAgreement(
            platform_id=platform_id,
            amount=refund.amount,
            version=record.version,
            phase=str(record.raw.get("refund_phase", "") or ""),
        )
        try:
            [result] = adapter.agree_refunds(credentials, [agreement])
        except VerificationCodeRequired as demand:
            self._fall_back_to_batch_file(refund, demand.message)
            self.name = BatchFileGateway.name
            return SendResult(SendOutcome.QUEUED)
        except OutcomeUnknown as error:
            raise RefundGatewayUnavailable(f"{type(error).__name__}: {error.message}") from error
        except BusinessRefusal as refusal:
            return SendResult(SendOutcome.FAILED, error=_("The platform refused: %(m)s") % {"m": refusal.message})
        except PlatformError as error:
            handle_platform_error(connection, error)
            raise RefundGatewayUnavailable(f"{type(error).__name__}: {error.message}") from error
        if result.succeeded:
            return SendResult(SendOutcome.SENT, reference=platform_id)
        return SendResult(SendOutcome.FAILED, error=_("The platform refused: %(m)s") % {"m": result.message})

    def _pay_price_difference(self, connection: ShopConnection, refund: Refund) -> SendResult:
        """Pay the difference with the platform's own call. Its request_id is derived from the refund's idempotency
        key, so an unclear answer is settled by asking again with the same id: the platform pays a request_id once
        (its documented purpose) and answers a repeat as done. Success is the platform's answer, so it is confirmed
        by `status`, which asks that way."""
        sku = _price_difference_sku(refund)
        if sku is None:
            self._flag_batch_file(
                refund,
                _(
                    "The order has several items and the desk does not know which one the price difference of "
                    "¥%(amount)s is for: it goes into the shop's next batch-refund file instead of the platform's API."
                )
                % {"amount": refund.amount},
            )
            self.name = BatchFileGateway.name
            return SendResult(SendOutcome.QUEUED)
        # Only adapters with the call get here (_pays_price_differences); it is not part of every platform's interface.
        adapter: Any = get_adapter(connection.platform_code)
        try:
            request_id = adapter.refund_price_difference(
                credentials_for(connection),
                refund_key=refund.idempotency_key,
                order_id=refund.order.platform_order_id,
                sku_id=sku,
                amount=refund.amount,
            )
        except OutcomeUnknown as error:
            raise RefundGatewayUnavailable(f"{type(error).__name__}: {error.message}") from error
        except BusinessRefusal as refusal:
            return SendResult(SendOutcome.FAILED, error=_("The platform refused: %(m)s") % {"m": refusal.message})
        except PlatformError as error:
            handle_platform_error(connection, error)
            raise RefundGatewayUnavailable(f"{type(error).__name__}: {error.message}") from error
        return SendResult(SendOutcome.SENT, reference=request_id)

    def _price_difference_status(self, connection: ShopConnection, refund: Refund) -> StatusResult:
        if not connection_may_call(connection):
            return StatusResult(StatusOutcome.UNKNOWN, error=_("The platform connection is broken or paused."))
        try:
            answer = self._pay_price_difference(connection, refund)
        except RefundGatewayUnavailable as unclear:
            return StatusResult(StatusOutcome.UNKNOWN, error=str(unclear))
        if answer.outcome == SendOutcome.SENT:
            return StatusResult(StatusOutcome.CONFIRMED, reference=answer.reference)
        return StatusResult(StatusOutcome.FAILED, error=answer.error)

    def send_many(self, refunds: list[Refund]) -> dict[int, tuple[str, SendResult | None]]:
        """Agree many refunds in as few calls as the platform's per-call limits allow (Taobao 20 refunds / ¥6,000,
        Tmall 30 / ¥10,000), each record read first for its version. None: no clear answer for that refund."""
        answers: dict[int, tuple[str, SendResult | None]] = {}
        by_connection: dict[int, tuple[ShopConnection, list[Refund]]] = {}
        for refund in refunds:
            connection = connection_for_refund(refund)
            if connection is None:
                answers[refund.pk] = (BatchFileGateway.name, BatchFileGateway().send(refund))
            elif _pays_price_differences(connection, refund):
                if not connection_may_call(connection):
                    answers[refund.pk] = (gateway_name(connection), None)
                    continue
                try:
                    answer = self._pay_price_difference(connection, refund)
                except RefundGatewayUnavailable:
                    answers[refund.pk] = (gateway_name(connection), None)
                else:
                    name = BatchFileGateway.name if answer.outcome == SendOutcome.QUEUED else gateway_name(connection)
                    answers[refund.pk] = (name, answer)
            else:
                by_connection.setdefault(connection.pk, (connection, []))[1].append(refund)
        for connection, group in by_connection.values():
            answers.update(self._send_group(connection, group))
        return answers

    def _send_group(self, connection: ShopConnection, refunds: list[Refund]) -> dict:
        name = gateway_name(connection)
        answers: dict[int, tuple[str, SendResult | None]] = {refund.pk: (name, None) for refund in refunds}
        if not connection_may_call(connection):
            return answers
        adapter = get_adapter(connection.platform_code)
        credentials = credentials_for(connection)
        to_agree: list[tuple[Refund, RefundAgreement]] = []
        for refund in refunds:
            platform_id = refund.ticket.platform_ticket_id
            try:
                record = adapter.read(credentials, platform_id)
            except PlatformError as error:
                handle_platform_error(connection, error)
                if not connection_may_call(ShopConnection.objects.get(pk=connection.pk)):
                    return answers
                continue
            if record.status == RecordStatus.SUCCEEDED:
                answers[refund.pk] = (name, SendResult(SendOutcome.SENT, reference=platform_id))
            elif record.status in REFUSED:
                answers[refund.pk] = (name, SendResult(SendOutcome.FAILED, error=record.platform_status))
            else:
                phase = str(record.raw.get("refund_phase", "") or "")
                to_agree.append((refund, RefundAgreement(platform_id, refund.amount, record.version, phase)))
        refund_of = {agreement.platform_id: refund for refund, agreement in to_agree}
        for batch in split_agreements(
            [agreement for _refund, agreement in to_agree], adapter.batch_limits(credentials)
        ):
            try:
                results = adapter.agree_refunds(credentials, batch)
            except VerificationCodeRequired as demand:
                for agreement in batch:
                    refund = refund_of[agreement.platform_id]
                    self._fall_back_to_batch_file(refund, demand.message)
                    answers[refund.pk] = (BatchFileGateway.name, SendResult(SendOutcome.QUEUED))
                continue
            except OutcomeUnknown:
                continue  # these stay claimed; status() reads each record before anything is sent again
            except BusinessRefusal as refusal:
                refused = _("The platform refused: %(m)s") % {"m": refusal.message}
                for agreement in batch:
                    answers[refund_of[agreement.platform_id].pk] = (name, SendResult(SendOutcome.FAILED, error=refused))
                continue
            except PlatformError as error:
                handle_platform_error(connection, error)
                break
            for result in results:
                refund = refund_of[result.platform_id]
                if result.succeeded:
                    answers[refund.pk] = (name, SendResult(SendOutcome.SENT, reference=result.platform_id))
                else:
                    refused = _("The platform refused: %(m)s") % {"m": result.message}
                    answers[refund.pk] = (name, SendResult(SendOutcome.FAILED, error=refused))
        return answers

    def status(self, refund: Refund) -> StatusResult:
        connection = connection_for_refund(refund)
        if connection is None or refund.gateway == BatchFileGateway.name:
            self.name = BatchFileGateway.name
            return BatchFileGateway().status(refund)
        self.name = gateway_name(connection)
        if _pays_price_differences(connection, refund):
            return self._price_difference_status(connection, refund)
        platform_id = refund.ticket.platform_ticket_id
        # What the sync already stored answers without a call when it is the platform's final word.
        stored = (
            PlatformRecord.objects.filter(connection=connection, platform_id=platform_id)
            .values_list("status", flat=True)
            .first()
        )
        if stored == RecordStatus.SUCCEEDED:
            return StatusResult(StatusOutcome.CONFIRMED, reference=platform_id)
        if not connection_may_call(connection):
            return StatusResult(StatusOutcome.UNKNOWN, error=_("The platform connection is broken or paused."))
        try:
            record = get_adapter(connection.platform_code).read(credentials_for(connection), platform_id)
        except PlatformError as error:
            handle_platform_error(connection, error)
            return StatusResult(StatusOutcome.UNKNOWN, error=error.message)
        return status_of_record(record)

    @staticmethod
    def _fall_back_to_batch_file(refund: Refund, message: str) -> None:
        MarketplaceRefundGateway._flag_batch_file(
            refund,
            _(
                "The platform asks for the seller's SMS code to agree ¥%(amount)s (%(message)s): this refund goes "
                "into the shop's next batch-refund file instead."
            )
            % {"amount": refund.amount, "message": message},
        )

    @staticmethod
    def _flag_batch_file(refund: Refund, note: str) -> None:
        tickets_flag_for_agent(ticket_ids=[refund.ticket_id], by=system_user(), note=note)


def status_of_record(record: AfterSaleRecord) -> StatusResult:
    if record.status == RecordStatus.SUCCEEDED:
        return StatusResult(StatusOutcome.CONFIRMED, reference=record.platform_id)
    if record.status in AGREEABLE:
        return StatusResult(StatusOutcome.NOT_FOUND)
    if record.status in REFUSED:
        return StatusResult(StatusOutcome.FAILED, error=record.platform_status)
    return StatusResult(StatusOutcome.SENT, reference=record.platform_id)
