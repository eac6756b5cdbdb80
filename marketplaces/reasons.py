"""The platforms' reason texts as the desk's reasons. A text not listed is matched by the reason's own Chinese label;
failing that, the buyer's reason is kept in the ticket's message and the ticket opens as "changed mind", which an
agent corrects (the first reason is then the platform's words as best understood, never invented)."""

from aftersales.models import ReturnReason

FALLBACK = "changed_mind"

REASONS = {
    # Taobao / Tmall (退款原因) and Douyin (售后原因) texts, both seen in the platforms' back offices.
    "不想要了": "changed_mind",
    "多拍/拍错/不想要": "changed_mind",
    "拍错了/订单信息错误": "changed_mind",
    "七天无理由退换货": "changed_mind",
    "七天无理由": "changed_mind",
    "尺码拍错/不喜欢/效果不好": "changed_mind",
    "其他": "changed_mind",
    "效果不好/不喜欢": "not_as_effective",
    "未按约定时间发货": "late_shipping",
    "快递一直未送到": "delivery_delay",
    "快递/物流一直未送到": "delivery_delay",
    "快递无跟踪记录": "delivery_delay",
    "空包裹/少货": "missing_items",
    "少件/漏发": "missing_items",
    "少件（含缺少配件）": "missing_items",
    "发错货": "wrong_item",
    "卖家发错货": "wrong_item",
    "货物破损已拒签": "damaged_in_transit",
    "商品破损/污渍": "damaged_in_transit",
    "质量问题": "quality_defect",
    "做工粗糙/有瑕疵": "quality_defect",
    "商品与描述不符": "not_as_described",
    "描述不符": "not_as_described",
    "假冒品牌": "not_as_described",
    "颜色/款式/图案与描述不符": "wrong_colour_style",
    "商品需要维修": "needs_repair",
}


def reason_for(text: str) -> ReturnReason:
    text = (text or "").strip()
    code = REASONS.get(text)
    reason = None
    if code:
        reason = ReturnReason.objects.filter(code=code, is_active=True).first()
    if reason is None and text:
        reason = ReturnReason.objects.filter(label_zh=text, is_active=True).first()
    return reason or ReturnReason.objects.get(code=FALLBACK)
