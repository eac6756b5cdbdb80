"""The adapter registry: one adapter per platform code (aftersales.Platform.Code), found by a dotted path so a
platform's module is imported only when a connection of that platform is used.

Taobao and Tmall share one adapter (TOP); the connection tells it which limits apply (Credentials.is_tmall).
A new platform adds its line here and its module under marketplaces/adapters/.
"""

from functools import cache

from django.utils.module_loading import import_string

from marketplaces.adapters.base import MarketplaceAdapter

ADAPTERS: dict[str, str] = {
    "taobao": "marketplaces.adapters.taobao.TaobaoAdapter",
    "tmall": "marketplaces.adapters.taobao.TaobaoAdapter",
    "douyin": "marketplaces.adapters.douyin.DouyinAdapter",
    "jd": "marketplaces.adapters.jd.JdAdapter",
    "wechat": "marketplaces.adapters.wechat.WechatAdapter",
    "pinduoduo": "marketplaces.adapters.pinduoduo.PinduoduoAdapter",
}


class NoAdapter(LookupError):
    pass


def has_adapter(platform_code: str) -> bool:
    try:
        get_adapter(platform_code)
    except NoAdapter:
        return False
    return True


@cache
def get_adapter(platform_code: str) -> MarketplaceAdapter:
    path = ADAPTERS.get(platform_code)
    if path is None:
        raise NoAdapter(f"no marketplace adapter for {platform_code!r}")
    try:
        return import_string(path)()
    except ImportError as error:
        raise NoAdapter(f"the adapter {path} cannot be imported: {error}") from error
