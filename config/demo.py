"""Deterministic demo data: two shops of one outdoor brand on Tmall and Douyin, couriers, a few hundred orders.

Orders are generated as the rows of an order export and go through the real importer, so loading twice updates
instead of duplicating, exactly as re-importing a file does.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from aftersales.order_export import spreadsheet_time

SHOPS = [
    {"code": "shanye-tmall", "name": "山野户外天猫旗舰店", "platform_code": "tmall", "order_prefix": "4"},
    {"code": "shanye-douyin", "name": "山野户外抖音官方店", "platform_code": "douyin", "order_prefix": "69"},
]
COURIERS = [
    ("SF", "顺丰速运", "SF"),
    ("ZTO", "中通快递", "7531"),
    ("YTO", "圆通速递", "YT"),
    ("YUNDA", "韵达快递", "4318"),
    ("JD", "京东物流", "JDV"),
    ("EMS", "中国邮政 EMS", "11"),
]
PRODUCTS = [
    ("SY-JK-001", "山野三合一冲锋衣 男款", Decimal("599.00")),
    ("SY-JK-002", "山野三合一冲锋衣 女款", Decimal("579.00")),
    ("SY-TS-010", "速干T恤 短袖", Decimal("129.00")),
    ("SY-SH-020", "防水登山鞋 中帮", Decimal("459.00")),
    ("SY-BT-030", "不锈钢保温杯 500ml", Decimal("89.00")),
    ("SY-FL-040", "抓绒外套", Decimal("299.00")),
    ("SY-SK-050", "徒步袜 3双装", Decimal("49.00")),
    ("SY-HL-060", "充电头灯", Decimal("79.00")),
    ("SY-BP-070", "双肩登山包 30L", Decimal("269.00")),
]
# (province as the platforms export it, city, districts, remote 偏远)
REGIONS = [
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区"], False),
    ("广东省", "广州市", ["天河区", "海珠区", "番禺区"], False),
    ("浙江省", "杭州市", ["西湖区", "余杭区", "滨江区"], False),
    ("江苏省", "南京市", ["鼓楼区", "江宁区", "玄武区"], False),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "闵行区"], False),
    ("北京市", "北京市", ["朝阳区", "海淀区", "丰台区"], False),
    ("四川省", "成都市", ["武侯区", "高新区", "锦江区"], False),
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"], False),
    ("山东省", "济南市", ["历下区", "市中区"], False),
    ("河南省", "郑州市", ["金水区", "二七区"], False),
    ("福建省", "厦门市", ["思明区", "湖里区"], False),
    ("湖南省", "长沙市", ["岳麓区", "雨花区"], False),
    ("陕西省", "西安市", ["雁塔区", "未央区"], False),
    ("云南省", "昆明市", ["五华区", "盘龙区"], False),
    ("新疆维吾尔自治区", "乌鲁木齐市", ["天山区", "沙依巴克区"], True),
    ("西藏自治区", "拉萨市", ["城关区"], True),
    ("青海省", "西宁市", ["城中区", "城西区"], True),
    ("内蒙古自治区", "呼和浩特市", ["新城区", "赛罕区"], True),
    ("甘肃省", "兰州市", ["城关区", "七里河区"], True),
    ("宁夏回族自治区", "银川市", ["兴庆区", "金凤区"], True),
]
STREETS = [
    "人民路",
    "解放大道",
    "建设路",
    "中山路",
    "和平街",
    "文化路",
    "科技园路",
    "滨江大道",
    "长江路",
    "学府路",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建文辉玲欣怡子涵浩然雨轩梓萱思远嘉怡宇航晨曦"
NICK_WORDS = ["小", "爱", "徒步", "山", "风", "野", "行者", "云", "暖", "阿"]
ORDERS_PER_SHOP = 150


def order_rows(shop_spec: dict, *, today: datetime, seed: int = 2026) -> list[dict]:
    """Export-shaped rows (one per line) for one shop; deterministic for a seed and a day."""
    rng = random.Random(f"{seed}-{shop_spec['code']}")  # noqa: S311 - demo data, not security
    rows = []
    for number in range(ORDERS_PER_SHOP):
        order_id = shop_spec["order_prefix"] + "".join(rng.choice("0123456789") for _ in range(18))
        order_id = order_id[:19]
        province, city, districts, _remote = rng.choice(REGIONS)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        paid_at = today - timedelta(days=rng.uniform(0.2, 30), minutes=number)
        stage = rng.random()
        packed_at = shipped_at = delivered_at = None
        courier_code = tracking_number = ""
        if stage > 0.10:
            packed_at = paid_at + timedelta(hours=rng.uniform(1, 20))
        if stage > 0.18:
            shipped_at = packed_at + timedelta(hours=rng.uniform(0.5, 10))
            courier_code, _courier_name, prefix = rng.choice(COURIERS)
            tracking_number = prefix + "".join(rng.choice("0123456789") for _ in range(12))
        if stage > 0.48 and shipped_at and shipped_at + timedelta(days=2) < today:
            delivered_at = shipped_at + timedelta(days=rng.uniform(1.5, 4 if not _remote else 7))
            delivered_at = min(delivered_at, today - timedelta(hours=1))
        lines = rng.sample(PRODUCTS, k=rng.choice((1, 1, 1, 2, 2, 3)))
        line_amounts = []
        for sku, item_name, price in lines:
            quantity = rng.choice((1, 1, 1, 2))
            discount = Decimal(rng.choice(("1.00", "0.95", "0.90", "0.85")))
            line_amounts.append((sku, item_name, quantity, (price * quantity * discount).quantize(Decimal("0.01"))))
        order_columns = {
            "platform_order_id": order_id,
            "buyer_nick": rng.choice(NICK_WORDS) + rng.choice(NICK_WORDS) + str(rng.randint(10, 9999)),
            "receiver_name": name,
            "receiver_phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}****{rng.randint(1000, 9999)}",
            "province": province,
            "city": city,
            "district": rng.choice(districts),
            "address": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2802)}室",
            "paid_amount": sum((amount for *_rest, amount in line_amounts), Decimal("0.00")),
            "paid_at": spreadsheet_time(paid_at),
            "packed_at": spreadsheet_time(packed_at),
            "shipped_at": spreadsheet_time(shipped_at),
            "courier_code": courier_code,
            "tracking_number": tracking_number,
            "delivered_at": spreadsheet_time(delivered_at),
        }
        for sku, item_name, quantity, amount in line_amounts:
            rows.append(
                {
                    **order_columns,
                    "sku": sku,
                    "item_name": item_name,
                    "quantity": quantity,
                    "line_paid_amount": amount,
                }
            )
    for row_number, row in enumerate(rows, start=2):
        row["_row"] = row_number
    return rows


def demo_day() -> datetime:
    """Today at 18:00 Beijing time: the same timeline for every load on one day, so a reload changes nothing."""
    local_now = timezone.localtime()
    return local_now.replace(hour=18, minute=0, second=0, microsecond=0)
