"""Province names as the remote-region rule compares them."""

# Orders and aggregators write a province in full (新疆维吾尔自治区, 北京市) or short (新疆); the rule stores and
# compares the short name. The autonomous regions' full names carry an ethnic name that is not a suffix to strip.
_FULL_NAMES = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_SUFFIXES = ("省", "市", "自治区", "特别行政区")


def short_province(name: str) -> str:
    name = "".join((name or "").split())
    if name in _FULL_NAMES:
        return _FULL_NAMES[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name
