"""How a refund reaches the buyer. A marketplace adapter implements RefundGateway; the default needs no API.

The default, BatchFileGateway, is how many shops work: the refund is recorded as executed here and listed in the
day's batch-refund file (批量退款), which the shop uploads to the marketplace's batch tool (see refund_batch.py).
Settings: REFUND_GATEWAY, a dotted path to a class with no constructor arguments.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from aftersales.models import Refund


@dataclass(frozen=True)
class GatewayResult:
    succeeded: bool
    reference: str = ""
    error: str = ""


class RefundGatewayUnavailable(Exception):
    """The gateway could not be reached or did not answer; the refund may or may not have been made.

    The refund stays pending and is retried with the same idempotency key, which the marketplace deduplicates.
    """


class RefundGateway(Protocol):
    name: str

    def execute(self, refund: Refund) -> GatewayResult:
        """Pay `refund` back to the buyer, deduplicating on `refund.idempotency_key`.

        Return a failed result for a definite refusal (the ticket goes back to the agent); raise
        RefundGatewayUnavailable when the outcome is unknown.
        """
        ...


class BatchFileGateway:
    name = "batch_file"

    def execute(self, refund: Refund) -> GatewayResult:
        batch_day = timezone.localdate()
        return GatewayResult(succeeded=True, reference=f"BATCH-{batch_day:%Y%m%d}-{refund.pk}")


def get_refund_gateway() -> RefundGateway:
    return import_string(getattr(settings, "REFUND_GATEWAY", "aftersales.gateways.BatchFileGateway"))()
