from django.db import migrations, models

# A ticket event's action is one of TicketEvent.Action, as this migration found it; the database refuses any other.
# Every action any version of the services wrote is in the list, so existing rows pass. A row that does not (typed in
# by hand) stops the migration with its action named, to be corrected first: an audit trail is not rewritten by guess.
ACTIONS = [
    "opened",
    "note",
    "reason_changed",
    "flagged",
    "deadline_near",
    "auto_refund",
    "refund_approved",
    "refund_before_intercept",
    "parcel_lost",
    "refund_queued",
    "refund_sent",
    "refund_send_lost",
    "refund_succeeded",
    "refund_confirmed",
    "refund_failed",
    "approval_requested",
    "approval_approved",
    "approval_declined",
    "approval_overdue",
    "rejected",
    "return_agreed",
    "resolved_reship",
    "resolved_exchange",
    "withdrawn",
    "closed",
    "platform_review",
    "ruled_for_buyer",
    "ruled_for_merchant",
    "cutoff_requested",
    "cutoff_held",
    "cutoff_failed",
    "intercept_requested",
    "intercept_confirmed",
    "intercept_failed",
    "return_shipped",
    "return_received",
    "inspection_passed",
    "early_replacement",
]


def refuse_unknown_actions(apps, schema_editor):
    events = apps.get_model("aftersales", "TicketEvent").objects.using(schema_editor.connection.alias)
    unknown = sorted(set(events.exclude(action__in=ACTIONS).values_list("action", flat=True)))
    if unknown:
        raise RuntimeError(
            "Ticket events with actions outside the vocabulary (aftersales.models.TicketEventAction): "
            f"{', '.join(map(repr, unknown))}. Correct those rows, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0021_shop_settings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticketevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("opened", "ticket opened"),
                    ("note", "note added"),
                    ("reason_changed", "reason corrected"),
                    ("flagged", "flagged for the agent"),
                    ("deadline_near", "platform deadline near: moved to the top of the queue"),
                    ("auto_refund", "refunded by the automatic rule"),
                    ("refund_approved", "refund approved"),
                    ("refund_before_intercept", "refunded before the courier answered the intercept"),
                    ("parcel_lost", "refunded: the parcel was lost"),
                    ("refund_queued", "refund waiting for the next batch file"),
                    ("refund_sent", "refund sent, awaiting the marketplace"),
                    ("refund_send_lost", "refund never reached the marketplace; sent again"),
                    ("refund_succeeded", "refund confirmed by the marketplace"),
                    ("refund_confirmed", "refund confirmed by the marketplace"),
                    ("refund_failed", "refund failed"),
                    ("approval_requested", "approval requested"),
                    ("approval_approved", "approved by a supervisor"),
                    ("approval_declined", "declined by a supervisor"),
                    ("approval_overdue", "approval overdue: escalated to the supervisors"),
                    ("rejected", "request rejected"),
                    ("return_agreed", "return agreed"),
                    ("resolved_reship", "reshipped"),
                    ("resolved_exchange", "exchanged"),
                    ("withdrawn", "withdrawn by the buyer"),
                    ("closed", "ticket closed"),
                    ("platform_review", "platform stepped in"),
                    ("ruled_for_buyer", "platform ruled for the buyer"),
                    ("ruled_for_merchant", "platform ruled for us"),
                    ("cutoff_requested", "cut-off requested"),
                    ("cutoff_held", "held in the warehouse"),
                    ("cutoff_failed", "already shipped"),
                    ("intercept_requested", "intercept requested"),
                    ("intercept_confirmed", "intercept confirmed"),
                    ("intercept_failed", "intercept failed"),
                    ("return_shipped", "return sent"),
                    ("return_received", "return received"),
                    ("inspection_passed", "inspection passed"),
                    ("early_replacement", "early replacement sent"),
                ],
                max_length=40,
                verbose_name="action",
            ),
        ),
        migrations.RunPython(refuse_unknown_actions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="ticketevent",
            constraint=models.CheckConstraint(condition=models.Q(action__in=ACTIONS), name="ticket_event_action_known"),
        ),
    ]
