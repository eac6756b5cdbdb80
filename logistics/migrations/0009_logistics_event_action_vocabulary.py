from django.db import migrations, models

# A logistics event's action is one of LogisticsEvent.Action, as this migration found it; the database refuses any
# other. Every action any version of the services wrote is in the list, so existing rows pass. A row that does not
# (typed in by hand) stops the migration with its action named, to be corrected first: a history is not rewritten by
# guess.
ACTIONS = [
    "requested",
    "confirmed",
    "failed",
    "returned",
    "overdue",
    "dispatched",
    "declared_lost",
    "reappeared",
    "replacement_created",
    "remedy_pending",
    "remedy_refund",
    "remedy_reship",
    "opened",
    "registered",
    "submitted",
    "settled",
    "rejected",
    "withdrawn",
    "needs_review",
    "reviewed",
]


def refuse_unknown_actions(apps, schema_editor):
    events = apps.get_model("logistics", "LogisticsEvent").objects.using(schema_editor.connection.alias)
    unknown = sorted(set(events.exclude(action__in=ACTIONS).values_list("action", flat=True)))
    if unknown:
        raise RuntimeError(
            "Logistics events with actions outside the vocabulary (logistics.models.LogisticsEventAction): "
            f"{', '.join(map(repr, unknown))}. Correct those rows, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("logistics", "0008_agents_do_not_answer_intercepts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="logisticsevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("requested", "intercept requested"),
                    ("confirmed", "the courier stopped the parcel"),
                    ("failed", "the courier could not stop the parcel"),
                    ("returned", "the parcel is back at the warehouse"),
                    ("overdue", "the courier's answer is overdue"),
                    ("dispatched", "parcel dispatched"),
                    ("declared_lost", "declared lost"),
                    ("reappeared", "scanned again after it was declared lost"),
                    ("replacement_created", "replacement parcel created"),
                    ("remedy_pending", "lost parcel: the buyer's remedy is left to an agent"),
                    ("remedy_refund", "lost parcel: the buyer was refunded"),
                    ("remedy_reship", "lost parcel: a replacement was sent"),
                    ("opened", "claim opened"),
                    ("registered", "claim registered: refunded before the courier answered"),
                    ("submitted", "claim submitted to the courier"),
                    ("settled", "claim settled by the courier"),
                    ("rejected", "claim rejected by the courier"),
                    ("withdrawn", "claim withdrawn"),
                    ("needs_review", "claim needs a review"),
                    ("reviewed", "claim reviewed"),
                ],
                max_length=40,
                verbose_name="action",
            ),
        ),
        migrations.RunPython(refuse_unknown_actions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="logisticsevent",
            constraint=models.CheckConstraint(
                condition=models.Q(action__in=ACTIONS), name="logistics_event_action_known"
            ),
        ),
    ]
