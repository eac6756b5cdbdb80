"""Who tells the shop's team lead about a complaint risk (seed 004: 投诉, 12315, 曝光, 差评 → 联系小组长): the app
that owns the group robot (logistics) registers a notifier at start-up (AppConfig.ready), since aftersales imports
none of them. The alert row (models.EscalationAlert) is written in the ticket's own transaction; the notifiers are
called with its id only after that transaction commits, so no robot is ever called while a row is locked."""

from collections.abc import Callable

from django.db import transaction

_notifiers: list[Callable[[int], None]] = []


def register(notifier: Callable[[int], None]) -> None:
    """`notifier(alert_id)` hands the alert to its robot (it queues its own work; it must not raise)."""
    if notifier not in _notifiers:
        _notifiers.append(notifier)


def notify_on_commit(alert_id: int) -> None:
    def notify() -> None:
        for notifier in _notifiers:
            notifier(alert_id)

    transaction.on_commit(notify)
