"""Approvals at volume (审批): a supervisor decides a page of requests at once, each through `approval_decide`."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from aftersales.models import ApprovalRequest
from aftersales.services.tickets import approval_decide
from desk.errors import ActionRefused

BULK_DECISION_LIMIT = 100


@dataclass(frozen=True)
class BulkDecision:
    approval: ApprovalRequest
    decided: bool
    message: str  # what happened to this request, in the user's language


def approvals_decide(*, approvals, by, approve: bool, note: str = "") -> list[BulkDecision]:
    """Approve or decline each request with one note, in due order, each in its own transaction (one refused
    request leaves the others decided). A decline needs the note; nobody decides their own request: both are
    `approval_decide`'s rules, applied to every request, so nothing here decides anything itself."""
    approvals = list(approvals)
    if len(approvals) > BULK_DECISION_LIMIT:
        raise ActionRefused(
            "too_many", _("Decide at most %(limit)d requests at once.") % {"limit": BULK_DECISION_LIMIT}
        )
    if not approve and not (note or "").strip():
        raise ActionRefused("note_required", _("Write a note that says why."))
    results = []
    for approval in sorted(approvals, key=lambda approval: (approval.due_at, approval.pk)):
        try:
            approval_decide(approval=approval, by=by, approve=approve, note=note)
        except ActionRefused as refusal:
            results.append(BulkDecision(approval, False, str(refusal.message)))
        else:
            message = _("approved; the refund has started") if approve else _("declined, back to the agent")
            results.append(BulkDecision(approval, True, message))
    return results
