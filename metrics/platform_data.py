"""Importing what the desk does not create itself: chat sessions (飞鸽/旺旺), product reviews and the shop's daily
product overall score (商品综合评分), from the platforms' own export files (CSV or XLSX).

Headers may be Chinese, as the back offices export them, or English (see COLUMNS). Times are China local time
("YYYY-MM-DD HH:MM[:SS]") unless they carry their own offset (ISO 8601); a day is a date, a date-time (its China
date) or an Excel date. Every row is checked first; a row that fails is reported with its row number, field and
reason, and if any row fails nothing is written. A re-import updates the rows already stored (by the session id, by
the order number for reviews, by the day for scores) instead of adding them twice, and leaves the rows that did not
change alone.

The same plan and apply serve the file import (`metrics_import_platform_data`) and the REST API
(`metrics/api/platform_data.py`): only the way the rows are read differs.

`read_platform_rows` and `plan_platform_import` only read; `platform_import_apply` writes, in one transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import Order, Shop
from aftersales.order_import import (
    DATETIME_FORMATS,
    ImportFileError,
    RowError,
    _normalise_header,
    read_rows,
)
from desk.input_checks import CleanCharField
from metrics.definitions import CHINA
from metrics.dirty import days_mark, orders_mark
from metrics.lock_objects import platform_rows_for_update
from metrics.models import ChatSession, ProductReview, ProductScore

CHATS = "chats"
REVIEWS = "reviews"
PRODUCT_SCORES = "product_scores"
KINDS = (CHATS, REVIEWS, PRODUCT_SCORES)

# kind -> field name -> accepted header names (compared case-insensitively, spaces ignored); the first is shown.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    CHATS: {
        "platform_session_id": ("会话ID", "会话编号", "platform_session_id", "session_id"),
        "started_at": ("开始时间", "会话开始时间", "started_at"),
        "first_response_seconds": (
            "首次响应时长(秒)",
            "首次响应时长（秒）",
            "首响时长(秒)",
            "首响时长（秒）",
            "first_response_seconds",
        ),
        "rating": ("评价", "满意度评价", "买家评价", "rating"),
        # Lets 售后响应时间 find the buyer's chat after an after-sales request (metrics/definitions.py).
        "buyer_nick": ("买家昵称", "顾客昵称", "用户昵称", "buyer_nick"),
    },
    REVIEWS: {
        "platform_order_id": ("订单号", "订单编号", "主订单编号", "platform_order_id", "order_id"),
        "reviewed_at": ("评价时间", "reviewed_at"),
        "rating": ("商品评分", "商品评价", "rating"),
        "logistics_rating": ("物流评分", "物流服务评分", "logistics_rating"),
    },
    PRODUCT_SCORES: {
        "day": ("日期", "统计日期", "day", "date"),
        "score": ("商品综合评分", "商品体验分", "score"),
    },
}
REQUIRED_COLUMNS = {
    CHATS: ("platform_session_id", "started_at"),
    REVIEWS: ("platform_order_id", "reviewed_at", "rating"),
    PRODUCT_SCORES: ("day", "score"),
}
KEYS = {CHATS: "platform_session_id", REVIEWS: "platform_order_id", PRODUCT_SCORES: "day"}
MODELS = {CHATS: ChatSession, REVIEWS: ProductReview, PRODUCT_SCORES: ProductScore}
# Stars may come as "5", "5星", "5分" or "5★"; a score as "4.82" or "4.82分".
STAR_SUFFIXES = ("星", "分", "★")
SUFFIXED_FIELDS = {"rating", "logistics_rating", "score"}
BATCH_SIZE = 1000


class ChatRowForm(forms.Form):
    platform_session_id = CleanCharField(max_length=64)
    started_at = forms.DateTimeField(input_formats=DATETIME_FORMATS)
    first_response_seconds = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    rating = forms.IntegerField(min_value=1, max_value=5, required=False)
    buyer_nick = CleanCharField(max_length=100, required=False)


class ReviewRowForm(forms.Form):
    platform_order_id = CleanCharField(max_length=64)
    reviewed_at = forms.DateTimeField(input_formats=DATETIME_FORMATS)
    rating = forms.IntegerField(min_value=1, max_value=5)
    logistics_rating = forms.IntegerField(min_value=1, max_value=5, required=False)


class DayField(forms.DateField):
    """A day as the back offices export it: a date ("2026-11-01", "2026/11/01"), a date-time (its China-time date;
    ISO 8601 with an offset is converted) or an Excel date cell. Call under `timezone.override(CHINA)`."""

    def to_python(self, value):
        if isinstance(value, datetime):
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        try:
            return super().to_python(value)
        except ValidationError as not_a_date:
            try:
                moment = forms.DateTimeField(input_formats=DATETIME_FORMATS).to_python(value)
            except ValidationError:
                raise not_a_date from None
            return timezone.localtime(moment).date()


class ProductScoreRowForm(forms.Form):
    day = DayField(input_formats=["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"])
    # The platform shows two decimals; more would be a different figure than the back office's.
    score = forms.DecimalField(min_value=0, max_value=5, max_digits=3, decimal_places=2)


FORMS = {CHATS: ChatRowForm, REVIEWS: ReviewRowForm, PRODUCT_SCORES: ProductScoreRowForm}


@dataclass(kw_only=True)
class PlatformRowError(RowError):
    """A bad row: `message` as the file import prints it ("商品评分: …"); `field` (the English name, "" when the row as
    a whole is wrong) and `reason` (without the column's name) for the API."""

    field: str = ""
    reason: str = ""


@dataclass
class PlatformImportPlan:
    shop: Shop
    kind: str
    records: list[dict] = field(default_factory=list)
    errors: list[PlatformRowError] = field(default_factory=list)
    row_count: int = 0


def read_platform_rows(content: bytes, kind: str) -> list[dict]:
    """Rows as {field name: raw value}, with '_row' holding the spreadsheet row number, read by the order import's
    reader (.xlsx or CSV told by the bytes, empty rows dropped, the same row limit) with this kind's headers."""
    return read_rows(content, map_header=partial(_map_header, kind=kind))


def plan_platform_import(*, shop: Shop, kind: str, rows: list[dict], typed: bool = False) -> PlatformImportPlan:
    """Check every row; the plan holds the clean records, or the errors of every bad row. Each row is a dict of field
    names (COLUMNS' keys) and '_row', its number as the user counts it. Reads nothing from the database.

    `typed` rows come from JSON, where each field must have its type (`_expected_types`): an id or a time given as
    a number is a row error naming the field, never stored as "1" (a JSON number is not an id: it may have lost
    digits on its way). true or false is a row error from a file or JSON alike, never stored as "True"."""
    plan = PlatformImportPlan(shop=shop, kind=kind, row_count=len(rows))
    key = KEYS[kind]
    seen: dict[str, int] = {}
    with timezone.override(CHINA):
        for row in rows:
            row_number = row["_row"]
            unknown = sorted(str(name) for name in row if name != "_row" and name not in COLUMNS[kind])
            if unknown:
                for name in unknown:
                    reason = _("Unknown field; the fields are: %(fields)s.") % {"fields": ", ".join(COLUMNS[kind])}
                    plan.errors.append(_field_error(kind, row_number, name, reason))
                continue
            nested = sorted(name for name in COLUMNS[kind] if isinstance(row.get(name), dict | list))
            if nested:
                for name in nested:
                    reason = _("Expected a single value, not a list or an object.")
                    plan.errors.append(_field_error(kind, row_number, name, reason))
                continue
            mistyped = sorted(name for name in COLUMNS[kind] if _wrong_type(kind, name, row.get(name), typed=typed))
            if mistyped:
                for name in mistyped:
                    plan.errors.append(_field_error(kind, row_number, name, _type_reason(kind, name)))
                continue
            if kind == REVIEWS and isinstance(row.get(key), float):
                reason = _(
                    "The order number was stored by Excel as a number and has lost digits; format the column as text."
                )
                plan.errors.append(PlatformRowError(row_number, reason, field=key, reason=reason))
                continue
            form = FORMS[kind](data={name: _clean_raw(name, row.get(name)) for name in COLUMNS[kind]})
            if not form.is_valid():
                plan.errors.extend(_form_errors(form, kind, row_number))
                continue
            record = form.cleaned_data
            if record[key] in seen:
                values = {"key": COLUMNS[kind][key][0], "value": record[key], "row": seen[record[key]]}
                plan.errors.append(
                    PlatformRowError(
                        row_number,
                        _("%(key)s %(value)s appears twice in the file (first on row %(row)d).") % values,
                        field=key,
                        reason=_("%(value)s appears twice (first on row %(row)d).") % values,
                    )
                )
                continue
            seen[record[key]] = row_number
            plan.records.append(record)
    return plan


def platform_import_apply(plan: PlatformImportPlan) -> dict[str, int]:
    """Write the plan's records: insert new ones, update those stored (by the unique key) whose values changed, leave
    the same ones alone, so sending the same rows twice writes nothing the second time. Refuses a plan with errors:
    nothing is written then. Returns {"created": n, "updated": n, "unchanged": n}.

    Two queries per 1000 records (what is stored, then one upsert), whatever the number of rows."""
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    model, key = MODELS[plan.kind], KEYS[plan.kind]
    fields = [name for name in COLUMNS[plan.kind] if name != key]
    now = timezone.now()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        for start in range(0, len(plan.records), BATCH_SIZE):
            batch = plan.records[start : start + BATCH_SIZE]
            kept = FIRST_FIELDS.get(plan.kind, ())
            stored = {
                row[key]: row
                for row in platform_rows_for_update(
                    model, shop=plan.shop, key=key, keys=[record[key] for record in batch], fields=[*fields, *kept]
                )
            }
            changed = []
            for record in batch:
                before = stored.get(record[key])
                if before is None:
                    counts["created"] += 1
                elif any(before[name] != record[name] for name in fields):
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                    continue
                changed.append({**record, **_first_review(plan.kind, record, before)})
            if changed:
                # The upsert still guards a row another import inserted since the read above.
                model.objects.bulk_create(
                    [model(shop=plan.shop, imported_at=now, **record) for record in changed],
                    update_conflicts=True,
                    unique_fields=["shop", key],
                    update_fields=[*fields, *kept, "imported_at"],
                )
                # The days whose rolled-up figures these rows move, before and after (metrics/dirty.py).
                days_mark(
                    plan.shop.pk, _moments(plan.kind, changed, [stored[r[key]] for r in changed if r[key] in stored])
                )
                if plan.kind == REVIEWS:
                    # 商品负反馈率 counts a review's current rating on the day its order was signed for: a review
                    # brought or changed later moves that order's days too, not only the review's own.
                    orders_mark(
                        Order.objects.filter(
                            shop=plan.shop, platform_order_id__in=[record[key] for record in changed]
                        ).values_list("pk", flat=True)
                    )
    return counts


# The buyer's first review is kept when an export brings the same order's review again (changed or followed up):
# 商品差评率 counts the first (seed 004: 取用户首次评价结果).
FIRST_FIELDS = {REVIEWS: ("first_reviewed_at", "first_rating")}
# The times (or days) of a row that put it in a day's figures.
MOMENT_FIELDS = {CHATS: ("started_at",), REVIEWS: ("reviewed_at", "first_reviewed_at"), PRODUCT_SCORES: ("day",)}


def _first_review(kind: str, record: dict, stored: dict | None) -> dict:
    """The first-review fields to write: this review's for a new row or an earlier one, else the stored ones."""
    if kind != REVIEWS:
        return {}
    if stored is None or record["reviewed_at"] < stored["first_reviewed_at"]:
        return {"first_reviewed_at": record["reviewed_at"], "first_rating": record["rating"]}
    return {"first_reviewed_at": stored["first_reviewed_at"], "first_rating": stored["first_rating"]}


def _moments(kind: str, *row_lists) -> list:
    return [row.get(name) for rows in row_lists for row in rows for name in MOMENT_FIELDS[kind]]


def _map_header(header: list, kind: str) -> dict[str, int]:
    aliases = {_normalise_header(alias): name for name, names in COLUMNS[kind].items() for alias in names}
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = aliases.get(_normalise_header(title))
        if name and name not in columns:
            columns[name] = index
    missing = [COLUMNS[kind][name][0] for name in REQUIRED_COLUMNS[kind] if name not in columns]
    if missing:
        raise ImportFileError(
            _("The header row lacks the required columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    return columns


def _clean_raw(name: str, value):
    """Normalise what spreadsheets produce: numbers for ids and counts, Excel dates, stars and scores with a suffix."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if name in SUFFIXED_FIELDS:
        text = text.removesuffix(next((suffix for suffix in STAR_SUFFIXES if text.endswith(suffix)), "")).strip()
    return text


def _expected_types(kind: str, name: str) -> tuple[type, ...]:
    """The JSON types a field accepts, as the API's schema shows them: a number as a number or a string; an id or a
    time only as a string."""
    form_field = FORMS[kind].base_fields[name]
    if isinstance(form_field, forms.IntegerField | forms.DecimalField):
        return (str, int, float)
    return (str,)


def _wrong_type(kind: str, name: str, value, *, typed: bool) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return True
    return typed and not isinstance(value, _expected_types(kind, name))


def _type_reason(kind: str, name: str) -> str:
    if _expected_types(kind, name) == (str,):
        return _("Expected text (a JSON string), not a number, true or false.")
    return _("Expected a number or text, not true or false.")


def _field_error(kind: str, row_number: int, name: str, reason: str) -> PlatformRowError:
    """`name` is a field name, another key the row had, or "__all__" (the row as a whole)."""
    label = COLUMNS[kind][name][0] if name in COLUMNS[kind] else (_("row") if name == "__all__" else name)
    return PlatformRowError(row_number, f"{label}: {reason}", field="" if name == "__all__" else name, reason=reason)


def _form_errors(form: forms.Form, kind: str, row_number: int) -> list[PlatformRowError]:
    return [_field_error(kind, row_number, name, " ".join(messages)) for name, messages in form.errors.items()]
