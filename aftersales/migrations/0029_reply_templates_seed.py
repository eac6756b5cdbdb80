"""The house's default reply templates (快捷短语), for every shop present and to come (shop empty), from the seeds'
advice; and who manages them: supervisors and managers add and change them for their shops, agents read them.

Texts adapted from the seeds: 000/001 path 3 (a buyer who chose refund-only by mistake is guided to return-and-refund
or asked for the return's waybill), 001 path 2 (the courier answers an intercept within 2 hours; an unsigned parcel's
risk is not the buyer's), 004 (late shipping: a small compensation within the agent's authority, never the largest
first; an escalation word such as 投诉, 12315, 曝光 or 差评: a second concession, 能补不换、能换不退、能退不赔, a
supervisor and a phone call when it is beyond the agent)."""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

MANAGERS = ["add_replytemplate", "change_replytemplate", "view_replytemplate"]
GRANTS = {"Agent": ["view_replytemplate"], "Supervisor": MANAGERS, "Manager": MANAGERS}

# (title, reason code or None, path or None, state or "", complaint risk only, text)
DEFAULTS = [
    (
        "误选仅退款：引导改为退货退款",
        None,
        3,
        "requested",
        False,
        "{buyer}，您好！看到您申请的是「仅退款」，订单显示您已经签收了商品，这种情况需要把商品退回来才能退款哦。"
        "麻烦您撤销当前申请，重新选择「退货退款」（退款原因按实际情况选择即可）；如果您已经把商品寄回，直接把退货快递单号"
        "发给我们也可以。仓库签收验货后，我们会第一时间为您退款{amount}。有任何问题随时联系我们～",
    ),
    (
        "拦截承诺：已联系快递拦截",
        None,
        2,
        "intercepting",
        False,
        "{buyer}，您好！您的包裹（{courier} {waybill}）我们已经联系快递拦截，快递会在2小时内答复拦截结果。"
        "包裹还没有签收，风险不需要您承担：拦截成功或包裹退回后，我们会立即为您退款{amount}，最晚在{deadline}前处理好，"
        "不需要您再做任何操作，请放心～",
    ),
    (
        "发货超时致歉与补偿",
        "late_shipping",
        None,
        "",
        False,
        "{buyer}，真的非常抱歉，您的订单没能按约定时间发出，耽误您使用了，这是我们的责任。"
        "您申请的{amount}我们会在{deadline}前处理好；同时为表歉意，我们给您补偿【补偿金额】元，不需要您退回任何东西。"
        "再次向您道歉，感谢您的理解和耐心！",
    ),
    (
        "投诉风险：升级处理，提出下一步方案",
        None,
        None,
        "",
        True,
        "{buyer}，非常理解您现在的心情，给您带来这么不好的体验，真的很抱歉。您反馈的问题我们非常重视，已经上报给主管，"
        "会在{deadline}前给您明确答复。在此之前，我们可以先为您【补偿 / 换新 / 退货退款】，您看哪种方式更方便？"
        "如果您愿意，我们也可以直接电话联系您，把问题一次说清楚、处理好。",
    ),
    (
        "物流延误说明",
        None,
        2,
        "requested",
        False,
        "{buyer}，您好！您的包裹（{courier} {waybill}）在运输途中有些延误，我们已经在催促快递加快派送。"
        "如果超过48小时（偏远地区72小时）仍没有新的物流记录，我们会直接为您补发或退款{amount}，不会让您承担损失，请放心～",
    ),
]


def seed(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)
    reply_template = apps.get_model("aftersales", "ReplyTemplate")
    reasons = {reason.code: reason for reason in apps.get_model("aftersales", "ReturnReason").objects.all()}
    for order, (title, reason_code, path, state, risk_only, text) in enumerate(DEFAULTS, start=1):
        if reason_code and reason_code not in reasons:
            continue  # a house that removed the reason would otherwise get the template on every ticket
        reply_template.objects.get_or_create(
            shop=None,
            title=title,
            defaults={
                "reason": reasons.get(reason_code) if reason_code else None,
                "path": path,
                "state": state,
                "complaint_risk_only": risk_only,
                "text": text,
                "sort_order": order * 10,
            },
        )


def unseed(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)
    titles = [title for title, *_rest in DEFAULTS]
    apps.get_model("aftersales", "ReplyTemplate").objects.filter(shop=None, title__in=titles).delete()


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0028_reply_templates")]
    operations = [migrations.RunPython(seed, unseed)]
