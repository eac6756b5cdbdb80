"""A fault-injection refund gateway for the worker tests: slow enough that a worker can be killed mid-sweep.

Select it in a worker with REFUND_GATEWAY=tests.slow_gateway.SlowGateway. Environment:

- SLOW_GATEWAY_DELAY_SECONDS: how long each send takes (default 0.3);
- SLOW_GATEWAY_LOG: a file that gets a line "call <idempotency key>" when a send starts, "paid <key>" when it is
  done, and "status <key>" when the refund is asked about, so a test can count how often each refund reached the
  gateway, whether the money went out and whether a lost answer was asked about before anything was sent again.

Like a marketplace, it remembers what it paid (the log): `status` confirms a refund it paid and does not know one it
never finished.
"""

import os
import time

from aftersales.gateways import SendOutcome, SendResult, StatusOutcome, StatusResult


class SlowGateway:
    name = "slow_test"

    def send(self, refund) -> SendResult:
        self._log("call", refund)
        time.sleep(float(os.environ.get("SLOW_GATEWAY_DELAY_SECONDS", "0.3")))
        self._log("paid", refund)
        return SendResult(SendOutcome.SENT, reference=f"SLOW-{refund.idempotency_key}")

    def status(self, refund) -> StatusResult:
        self._log("status", refund)
        path = os.environ.get("SLOW_GATEWAY_LOG")
        paid = path and f"paid {refund.idempotency_key}" in open(path, encoding="utf-8").read().splitlines()
        if paid:
            return StatusResult(StatusOutcome.CONFIRMED, reference=f"SLOW-{refund.idempotency_key}")
        return StatusResult(StatusOutcome.NOT_FOUND)

    @staticmethod
    def _log(event: str, refund) -> None:
        if path := os.environ.get("SLOW_GATEWAY_LOG"):
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{event} {refund.idempotency_key}\n")
