from django.db import migrations

# Nothing ever set a ticket's assignee, yet every ticket list joined it. Assignment will be designed on its own;
# until then the column goes. Reversing adds the column back, empty, as it always was.


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0022_ticket_event_action_vocabulary"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="aftersalesticket",
            name="assignee",
        ),
    ]
