"""Seed the reason taxonomy (the seeds' 降低售后率 list), the escalation words and the system user that automatic
rules act as. All three are editable afterwards; the reverse removes only what was seeded."""

from django.conf import settings
from django.db import migrations

# code, category, zh, en, default liability
REASONS = [
    ("late_shipping", "non_quality", "未按约定时间发货", "Not shipped on time", "merchant"),
    ("changed_mind", "non_quality", "个人原因(不喜欢/不想要)", "Changed mind", "buyer"),
    ("not_as_effective", "non_quality", "未达到宣传/使用效果", "Not as effective as advertised", "merchant"),
    ("quality_defect", "quality", "商品质量问题", "Quality defect", "merchant"),
    ("not_as_described", "quality", "商品与描述不符", "Not as described", "merchant"),
    ("needs_repair", "quality", "商品需要维修", "Needs repair", "merchant"),
    ("damaged_in_transit", "quality", "物流途中导致产品瑕疵", "Damaged in transit", "courier"),
    ("wrong_colour_style", "quality", "颜色/款式不符", "Wrong colour or style", "merchant"),
    ("delivery_delay", "other", "配送延迟", "Delivery delay", "courier"),
    ("wrong_item", "other", "发错商品", "Wrong item sent", "merchant"),
    ("damaged_packaging", "other", "包装破损", "Damaged packaging", "courier"),
    ("missing_accessory", "other", "配件缺失", "Missing accessory", "merchant"),
    ("promotion_changed", "other", "促销活动变动", "Promotion changed", "merchant"),
    ("lost_parcel", "other", "丢件", "Lost parcel", "courier"),
    ("missing_items", "other", "少件", "Missing items", "merchant"),
    ("damaged_buyer_device", "other", "使用产品导致客户设备损坏", "Damaged the buyer's device", "merchant"),
    ("wrong_contents", "other", "收到内件产品不符", "Wrong contents", "merchant"),
    ("return_missing_items", "other", "退货少件", "Return missing items", "buyer"),
    ("return_swapped", "other", "退货调包", "Return swapped", "buyer"),
    ("address_change", "other", "修改地址", "Address change", "buyer"),
]

# A buyer who writes one of these is close to a complaint (投诉), a consumer-hotline call (12315),
# public exposure (曝光) or a bad review (差评).
ESCALATION_WORDS = ["投诉", "12315", "曝光", "差评"]

SYSTEM_USERNAME = "system"


def seed(apps, schema_editor):
    reason_model = apps.get_model("aftersales", "ReturnReason")
    for order, (code, category, label_zh, label_en, liability) in enumerate(REASONS, start=1):
        reason_model.objects.update_or_create(
            code=code,
            defaults={
                "category": category,
                "label_zh": label_zh,
                "label_en": label_en,
                "default_liability": liability,
                "sort_order": order * 10,
            },
        )
    word_model = apps.get_model("aftersales", "EscalationWord")
    for word in ESCALATION_WORDS:
        word_model.objects.get_or_create(word=word)
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    # Inactive with an unusable password: it can never log in, it only signs the rules' events.
    user_model.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "password": "!", "first_name": "System"}
    )


def unseed(apps, schema_editor):
    apps.get_model("aftersales", "ReturnReason").objects.filter(code__in=[r[0] for r in REASONS]).delete()
    apps.get_model("aftersales", "EscalationWord").objects.filter(word__in=ESCALATION_WORDS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0005_refund_running_total"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(seed, unseed)]
