# Assignment (接单/派单) and the declines an agent has read: a ticket's assignee, the events that set it, and when the
# requesting agent read a supervisor's decline. Declines made before this migration count as read (their tickets
# came back with the note long ago), so no agent's queue opens on a year of old declines.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_old_declines_read(apps, schema_editor):
    approvals = apps.get_model("aftersales", "ApprovalRequest").objects.using(schema_editor.connection.alias)
    approvals.filter(status="declined", acknowledged_at__isnull=True).update(acknowledged_at=models.F("decided_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0029_reply_templates_seed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ticketevent",
            name="ticket_event_action_known",
        ),
        migrations.AddField(
            model_name="aftersalesticket",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assignee",
            ),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="acknowledged_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="decline read by the agent at"),
        ),
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
                    ("taken", "taken by an agent"),
                    ("assigned", "assigned by a supervisor"),
                    ("decline_read", "decline read by the agent"),
                ],
                max_length=40,
                verbose_name="action",
            ),
        ),
        migrations.AddIndex(
            model_name="aftersalesticket",
            index=models.Index(
                condition=models.Q(
                    (
                        "state__in",
                        [
                            "requested",
                            "intercepting",
                            "awaiting_approval",
                            "awaiting_return",
                            "return_in_transit",
                            "received",
                            "refunding",
                            "rejected",
                            "platform_review",
                        ],
                    )
                ),
                fields=["assignee", "-escalation_risk", "deadline", "id"],
                name="ticket_open_assignee_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(
                condition=models.Q(("acknowledged_at__isnull", True), ("status", "declined")),
                fields=["requested_by", "-decided_at"],
                name="approval_unread_decline_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="ticketevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "action__in",
                        [
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
                            "taken",
                            "assigned",
                            "decline_read",
                        ],
                    )
                ),
                name="ticket_event_action_known",
            ),
        ),
        migrations.RunPython(mark_old_declines_read, migrations.RunPython.noop),
    ]
