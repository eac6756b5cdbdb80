"""The ticket's countdown: the nearer of the platform's deadline (平台期限: past it the platform decides for the buyer)
and our own SLA (时效), how long is left, and how urgent that is. Shown on the queue and on the ticket page, in the
desk's time zone (Asia/Shanghai), rendered on the server so it is right without JavaScript."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

# Below an hour the agent must act now; below four, soon (the shops' default 临期 warning is four hours).
URGENT = timedelta(hours=1)
SOON = timedelta(hours=4)


@dataclass(frozen=True)
class TicketClock:
    clock: str  # "deadline" or "sla"
    due: datetime
    remaining: timedelta  # negative when past due
    level: str  # "overdue", "urgent", "soon", "ok" or "closed"

    @property
    def label(self) -> str:
        return _("platform deadline") if self.clock == "deadline" else _("SLA due")

    @property
    def short_label(self) -> str:
        """For the queue's narrow column: 平台 or 时效."""
        return pgettext("clock", "platform") if self.clock == "deadline" else pgettext("clock", "SLA")

    @property
    def local_due(self) -> str:
        return timezone.localtime(self.due).strftime("%m-%d %H:%M")

    @property
    def text(self) -> str:
        """ "2天3时", "3时12分", "12分" left; "超时 1时5分" past due."""
        if self.level == "closed":
            return _("closed")
        span = duration_text(abs(self.remaining))
        if self.remaining < timedelta(0):
            return _("overdue %(span)s") % {"span": span}
        return _("%(span)s left") % {"span": span}


def duration_text(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)sd %(hours)sh") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)sh %(minutes)sm") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)sm") % {"minutes": minutes}


def clock_level(remaining: timedelta) -> str:
    if remaining < timedelta(0):
        return "overdue"
    if remaining < URGENT:
        return "urgent"
    if remaining < SOON:
        return "soon"
    return "ok"


def ticket_clock(ticket, now: datetime | None = None) -> TicketClock:
    """The nearer of the ticket's two clocks; a tie goes to the platform's, whose miss costs more."""
    now = now or timezone.now()
    clock, due = ("deadline", ticket.deadline) if ticket.deadline <= ticket.sla_due else ("sla", ticket.sla_due)
    remaining = due - now
    return TicketClock(clock, due, remaining, clock_level(remaining) if ticket.is_open else "closed")


def ticket_clocks(ticket, now: datetime | None = None) -> list[TicketClock]:
    """Both clocks, the platform's first: the ticket page shows each and says which have passed."""
    now = now or timezone.now()
    return [
        TicketClock(name, due, due - now, clock_level(due - now) if ticket.is_open else "closed")
        for name, due in (("deadline", ticket.deadline), ("sla", ticket.sla_due))
    ]
