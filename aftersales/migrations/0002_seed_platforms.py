from django.db import migrations

# Defaults from the WeChat shop's published rules (DESIGN §5); each platform's own are entered in the admin.
PLATFORM_CODES = ["tmall", "taobao", "douyin", "jd", "pinduoduo", "wechat"]


def seed_platforms(apps, schema_editor):
    platform_model = apps.get_model("aftersales", "Platform")
    for code in PLATFORM_CODES:
        platform_model.objects.get_or_create(code=code)


def remove_platforms(apps, schema_editor):
    apps.get_model("aftersales", "Platform").objects.filter(code__in=PLATFORM_CODES, shops__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0001_initial")]
    operations = [migrations.RunPython(seed_platforms, remove_platforms)]
