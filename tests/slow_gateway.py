"""A fault-injection refund gateway for the worker tests: slow enough that a worker can be killed mid-sweep.

Select it in a worker with REFUND_GATEWAY=tests.slow_gateway.SlowGateway. Environment:

- SLOW_GATEWAY_DELAY_SECONDS: how long each payment takes (default 0.3);
- SLOW_GATEWAY_LOG: a file that gets a line "call <idempotency key>" when a payment starts and "paid <key>" when
  it is done, so a test can count how often each refund reached the gateway and whether the money went out.

Like a marketplace's API, it deduplicates on the idempotency key: the reference depends on the key alone.
"""

import os
import time

from aftersales.gateways import GatewayResult


class SlowGateway:
    name = "slow_test"

    def execute(self, refund) -> GatewayResult:
        self._log("call", refund)
        time.sleep(float(os.environ.get("SLOW_GATEWAY_DELAY_SECONDS", "0.3")))
        self._log("paid", refund)
        return GatewayResult(succeeded=True, reference=f"SLOW-{refund.idempotency_key}")

    @staticmethod
    def _log(event: str, refund) -> None:
        if path := os.environ.get("SLOW_GATEWAY_LOG"):
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{event} {refund.idempotency_key}\n")
