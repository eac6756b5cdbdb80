"""A marketplace refund gateway for the tests: counts every send and status question per refund, and answers what
the test tells it to. Select it with the `stub_gateway` fixture (tests/conftest.py)."""

from collections import Counter

from aftersales.gateways import (
    RefundGatewayUnavailable,
    SendOutcome,
    SendResult,
    StatusOutcome,
    StatusResult,
)


class StubGateway:
    name = "stub"
    sends: Counter = Counter()
    asked: Counter = Counter()
    send_answer = "sent"  # "sent", "failed" or "unavailable"
    unavailable_for: set = set()  # refund ids whose send never answers
    status_answers: dict = {}  # refund id -> StatusOutcome; NOT_FOUND when not said
    during_send = None  # a callable(refund) run inside send, as the marketplace thinks

    @classmethod
    def reset(cls):
        cls.sends, cls.asked = Counter(), Counter()
        cls.send_answer, cls.unavailable_for, cls.status_answers, cls.during_send = "sent", set(), {}, None

    def send(self, refund) -> SendResult:
        StubGateway.sends[refund.pk] += 1
        if StubGateway.during_send is not None:
            StubGateway.during_send(refund)
        if StubGateway.send_answer == "unavailable" or refund.pk in StubGateway.unavailable_for:
            raise RefundGatewayUnavailable("timed out")
        if StubGateway.send_answer == "failed":
            return SendResult(SendOutcome.FAILED, error="买家账户已注销")
        return SendResult(SendOutcome.SENT, reference=f"MP-{refund.pk}")

    def status(self, refund) -> StatusResult:
        StubGateway.asked[refund.pk] += 1
        outcome = StubGateway.status_answers.get(refund.pk, StatusOutcome.NOT_FOUND)
        error = "退款关闭" if outcome == StatusOutcome.FAILED else ""
        return StatusResult(outcome, reference=f"MP-{refund.pk}", error=error)
