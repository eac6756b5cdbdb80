from django.db import migrations

# The queue's search finds an order by a part of it: the tail of its number or of the receiver's phone, a part of
# the buyer's nick (aftersales.selectors.order_search_q). B-tree indexes serve only the whole value; on PostgreSQL
# these trigram (pg_trgm) GIN indexes serve LIKE '%…' too, so a search reads an index at a million orders. SQLite
# (make run) has no such index: its LIKE scans, which is fine at a demo's size. The indexes are not in the model's
# Meta for that reason; this migration is the one place that knows them.
INDEXES = {
    "order_platform_id_trgm_idx": "platform_order_id",
    "order_receiver_phone_trgm_idx": "receiver_phone",
    "order_buyer_nick_trgm_idx": "buyer_nick",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON aftersales_order USING gin ({column} gin_trgm_ops)"  # noqa: S608
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0030_assignment"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
