"""Pushing the platforms' data over the REST API (issue 8 point 9, "… and by the API"): chat sessions, product
reviews and the daily product overall score (商品综合评分) for one shop, checked and written by the same plan and apply
as the file import (metrics/platform_data.py).

POST /api/v1/platform-data/chats/, …/reviews/ and …/product-scores/ with {"shop": CODE, "rows": [{…}, …]}; each row
names its fields as the export's English headers (COLUMNS' keys). All rows are written, or none.
"""

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.selectors import shops_for_user
from desk.api.parsers import StrictJSONParser
from metrics.platform_data import (
    CHATS,
    FORMS,
    MODELS,
    PRODUCT_SCORES,
    REVIEWS,
    plan_platform_import,
    platform_import_apply,
)

# A request is one JSON body; a bigger export goes in several requests (each all-or-nothing) or as a file.
API_MAX_ROWS = 5000


class CanImportPlatformData(permissions.BasePermission):
    """The model permissions the file import needs: add (new rows) and change (a re-import updates them)."""

    def has_permission(self, request, view):
        meta = MODELS[view.kind]._meta
        return request.user.has_perms(
            [f"{meta.app_label}.add_{meta.model_name}", f"{meta.app_label}.change_{meta.model_name}"]
        )


class PlatformDataSerializer(serializers.Serializer):
    shop = serializers.SlugField(max_length=50)
    rows = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=API_MAX_ROWS, allow_empty=False
    )


class CountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=gettext_lazy("Rows the desk did not have."))
    updated = serializers.IntegerField(
        help_text=gettext_lazy("Rows stored before (same platform id) whose values changed.")
    )
    unchanged = serializers.IntegerField(
        help_text=gettext_lazy("Rows stored before with the same values: not written again.")
    )


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=gettext_lazy("The row's position in `rows`, counting from 1."))
    field = serializers.CharField(help_text=gettext_lazy("The field at fault; empty when the row as a whole is wrong."))
    message = serializers.CharField()


class RowErrorsSerializer(serializers.Serializer):
    """The API's error shape (desk.api.support) with the bad rows."""

    code = serializers.CharField(help_text=gettext_lazy("invalid_rows for bad rows; invalid for a bad envelope."))
    message = serializers.CharField()
    fields = serializers.DictField(required=False, child=serializers.JSONField())
    errors = RowErrorSerializer(many=True, required=False)


def _schema_field(form_field: forms.Field) -> serializers.Field:
    """The serializer field the schema shows for one of the import form's fields."""
    options = {"required": form_field.required}
    if isinstance(form_field, forms.IntegerField):
        return serializers.IntegerField(
            min_value=form_field.min_value,
            max_value=form_field.max_value,
            allow_null=not form_field.required,
            **options,
        )
    if isinstance(form_field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=form_field.max_digits,
            decimal_places=form_field.decimal_places,
            min_value=form_field.min_value,
            max_value=form_field.max_value,
            **options,
        )
    if isinstance(form_field, forms.DateTimeField):
        return serializers.DateTimeField(**options)
    if isinstance(form_field, forms.DateField):
        return serializers.DateField(**options)
    return serializers.CharField(max_length=form_field.max_length, **options)


def _row_schema(kind: str, name: str) -> type[serializers.Serializer]:
    """For the schema only: the rows' fields as the import's forms declare them (the forms do the checking)."""
    row = type(
        f"{name}Row",
        (serializers.Serializer,),
        {field_name: _schema_field(form_field) for field_name, form_field in FORMS[kind].base_fields.items()},
    )
    return type(
        f"{name}Push",
        (serializers.Serializer,),
        {
            "shop": serializers.SlugField(help_text=gettext_lazy("The shop's code; you must be assigned to the shop.")),
            "rows": row(many=True, help_text=f"1 to {API_MAX_ROWS} rows."),
        },
    )


DESCRIPTION = gettext_lazy(
    "Checks every row with the same rules as the file import (`manage.py metrics_import_platform_data`). If any row "
    "is wrong, nothing is written and the answer is 400 with every bad row's number, field and reason. Otherwise all "
    "rows are written in one transaction.\n\n"
    "**Idempotent by the platform's own id** ({key} within the shop): a row whose id is stored updates that row "
    "instead of adding a second one, and a row equal to the stored one is not written at all, so sending the same "
    "rows again (a retry, a replay) answers 200 with `unchanged` = the number of rows and changes nothing.\n\n"
    "Times are ISO 8601; without an offset they are China time (Asia/Shanghai), as in the platforms' exports. "
    "Needs the add and change permissions on {model}. Messages are in the caller's language (Accept-Language, "
    "else the language cookie `{cookie}`; Simplified Chinese by default)."
)


def _schema(kind: str, name: str, key: str, example_row: dict):
    meta = MODELS[kind]._meta
    return extend_schema(
        request=_row_schema(kind, name),
        responses={
            201: OpenApiResponse(CountsSerializer, description=gettext_lazy("At least one row was new.")),
            200: OpenApiResponse(CountsSerializer, description=gettext_lazy("Nothing new: rows updated or unchanged.")),
            400: OpenApiResponse(
                RowErrorsSerializer, description=gettext_lazy("Bad rows (nothing written), or a bad body.")
            ),
        },
        description=format_lazy(
            DESCRIPTION, key=key, model=f"{meta.app_label}.{meta.model_name}", cookie=settings.LANGUAGE_COOKIE_NAME
        ),
        examples=[
            OpenApiExample("rows", value={"shop": "shanye", "rows": [example_row]}, request_only=True),
            OpenApiExample(
                "bad row",
                value={
                    "code": "invalid_rows",
                    "message": "1 of 2 rows have errors; nothing was imported.",
                    "errors": [
                        {"row": 2, "field": "rating", "message": "Ensure this value is less than or equal to 5."}
                    ],
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )


class PlatformDataView(APIView):
    """Thin: the envelope, the permission and the shop here; every rule about a row in metrics/platform_data.py."""

    kind: str = ""
    parser_classes = [StrictJSONParser]
    permission_classes = [permissions.IsAuthenticated, CanImportPlatformData]

    def push(self, request):
        body = PlatformDataSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        code = body.validated_data["shop"]
        shop = shops_for_user(request.user).filter(code=code).first()
        if shop is None:
            raise NotFound(_("You are not assigned to a shop with the code %(code)s.") % {"code": code})
        rows = [{**row, "_row": number} for number, row in enumerate(body.validated_data["rows"], start=1)]
        plan = plan_platform_import(shop=shop, kind=self.kind, rows=rows, typed=True)
        if plan.errors:
            detail = _("%(count)d of %(total)d rows have errors; nothing was imported.") % {
                "count": len({error.row_number for error in plan.errors}),
                "total": plan.row_count,
            }
            errors = [
                {"row": error.row_number, "field": error.field, "message": error.reason or error.message}
                for error in plan.errors
            ]
            return Response(
                {"code": "invalid_rows", "message": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST
            )
        counts = platform_import_apply(plan)
        return Response(counts, status=status.HTTP_201_CREATED if counts["created"] else status.HTTP_200_OK)


class ChatSessionsPushView(PlatformDataView):
    """Chat sessions (飞鸽/旺旺) of one shop, as the platform exports them."""

    kind = CHATS

    @_schema(
        CHATS,
        "ChatSessions",
        "platform_session_id",
        {
            "platform_session_id": "S100",
            "started_at": "2026-11-03T10:00:00+08:00",
            "first_response_seconds": 35,
            "rating": 5,
        },
    )
    def post(self, request):
        return self.push(request)


class ProductReviewsPushView(PlatformDataView):
    """Buyers' reviews of one shop's orders (product stars, logistics stars), as the platform exports them."""

    kind = REVIEWS

    @_schema(
        REVIEWS,
        "ProductReviews",
        "platform_order_id",
        {
            "platform_order_id": "6950000000000000001",
            "reviewed_at": "2026-11-10 09:30",
            "rating": 5,
            "logistics_rating": 2,
        },
    )
    def post(self, request):
        return self.push(request)


class ProductScoresPushView(PlatformDataView):
    """The shop's product overall score (商品综合评分, 0–5, two decimals) day by day, as the back office shows it."""

    kind = PRODUCT_SCORES

    @_schema(PRODUCT_SCORES, "ProductScores", "day", {"day": "2026-11-01", "score": "4.82"})
    def post(self, request):
        return self.push(request)
