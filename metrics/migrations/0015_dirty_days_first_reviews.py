"""The dirty-day queue of the rollups (metrics/dirty.py), and each review's first rating kept apart from the latest
(商品差评率 counts the buyer's first review): the reviews stored so far have only one, which is taken as the first."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def first_is_current(apps, schema_editor):
    review = apps.get_model("metrics", "ProductReview")
    review.objects.update(first_rating=models.F("rating"), first_reviewed_at=models.F("reviewed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0025_complaints_and_ruling_liability"),
        ("metrics", "0014_platform_only_scores_removed"),
    ]

    operations = [
        migrations.CreateModel(
            name="DirtyDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="day")),
                ("marked_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="marked at")),
            ],
            options={
                "verbose_name": "day to roll up again",
                "verbose_name_plural": "days to roll up again",
            },
        ),
        migrations.AddField(
            model_name="productreview",
            name="first_rating",
            field=models.PositiveSmallIntegerField(
                null=True,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)],
                verbose_name="first product rating",
            ),
        ),
        migrations.AddField(
            model_name="productreview",
            name="first_reviewed_at",
            field=models.DateTimeField(null=True, verbose_name="first reviewed at"),
        ),
        migrations.RunPython(first_is_current, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="productreview",
            name="first_rating",
            field=models.PositiveSmallIntegerField(
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)],
                verbose_name="first product rating",
            ),
        ),
        migrations.AlterField(
            model_name="productreview",
            name="first_reviewed_at",
            field=models.DateTimeField(verbose_name="first reviewed at"),
        ),
        migrations.AddIndex(
            model_name="productreview",
            index=models.Index(fields=["shop", "first_reviewed_at"], name="product_review_shop_first_idx"),
        ),
        migrations.AddField(
            model_name="dirtyday",
            name="shop",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="aftersales.shop", verbose_name="shop"
            ),
        ),
    ]
