"""How a refund reaches the buyer. A marketplace adapter implements RefundGateway; the default needs no API.

Two calls, both made outside any transaction (no row is locked while the marketplace thinks):

- `send(refund)` hands the refund to the marketplace: SENT (it has it, confirmation follows), FAILED (a definite
  refusal, with the reason), QUEUED (nothing was sent: the refund waits for the shop's next batch file), or raises
  RefundGatewayUnavailable when the answer never came;
- `status(refund)` asks what the marketplace knows of that refund: CONFIRMED, FAILED, SENT (has it, not confirmed
  yet), NOT_FOUND (never reached it: only then may it be sent again) or UNKNOWN (could not tell).

A gateway may also offer `send_many(refunds) -> {refund id: (gateway name, SendResult or None)}` to agree many
refunds in one marketplace call (refunds_execute uses it for a sweep's batch); None means no clear answer for that
refund (it stays claimed and is asked about, as after RefundGatewayUnavailable).

The default, BatchFileGateway, is how many shops work: `send` queues the refund for the shop's next batch-refund
file (批量退款, see refund_batch.py); making that file records a RefundBatch and moves its refunds to sent; the
marketplace's batch tool's result file, imported back, confirms or fails each one.
Settings: REFUND_GATEWAY, a dotted path to a class with no constructor arguments.
"""

import enum
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from aftersales.models import Refund


class SendOutcome(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"
    QUEUED = "queued"


class StatusOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    FAILED = "failed"
    SENT = "sent"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    reference: str = ""
    error: str = ""


@dataclass(frozen=True)
class StatusResult:
    outcome: StatusOutcome
    reference: str = ""
    error: str = ""


class RefundGatewayUnavailable(Exception):
    """The gateway could not be reached or did not answer; the refund may or may not have been made.

    The refund stays claimed for sending; it is settled later by asking the gateway's `status`, never by sending again
    blindly."""


class RefundGateway(Protocol):
    name: str

    def send(self, refund: Refund) -> SendResult:
        """Hand `refund` to the marketplace (deduplicating on `refund.idempotency_key` where it can)."""
        ...

    def status(self, refund: Refund) -> StatusResult:
        """What the marketplace knows of `refund`."""
        ...


class BatchFileGateway:
    name = "batch_file"

    def send(self, refund: Refund) -> SendResult:
        return SendResult(SendOutcome.QUEUED)

    def status(self, refund: Refund) -> StatusResult:
        """The batch tool has no API: what it knows is what this desk recorded (a batch made, a result imported)."""
        if refund.status == Refund.Status.SUCCEEDED:
            return StatusResult(StatusOutcome.CONFIRMED, reference=refund.gateway_reference)
        if refund.status == Refund.Status.FAILED:
            return StatusResult(StatusOutcome.FAILED, error=refund.failure_reason)
        if refund.batch_id is not None:
            return StatusResult(StatusOutcome.SENT, reference=refund.gateway_reference)
        return StatusResult(StatusOutcome.NOT_FOUND)


def get_refund_gateway() -> RefundGateway:
    return import_string(getattr(settings, "REFUND_GATEWAY", "aftersales.gateways.BatchFileGateway"))()
