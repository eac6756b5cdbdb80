"""Row locks of metrics, in one place; several rows are locked in pk order."""

from django.db.models import Model


def platform_rows_for_update(model: type[Model], *, shop, key: str, keys, fields) -> list[dict]:
    """The shop's stored rows of a platform-data model whose `key` is one of `keys`, as {field: value}."""
    return list(
        model._default_manager.select_for_update()
        .filter(shop=shop, **{f"{key}__in": list(keys)})
        .order_by("pk")
        .values(key, *fields)
    )
