"""The door for marketplace pushes (webhooks in): 抖店 after-sales messages, signed with the desk's 抖店 app secret
instead of a user's token. Thin: check the signature, read the messages, call the service, answer."""

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from desk.api.parsers import api_input_error
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, read_body
from marketplaces.adapters.douyin import push_signature_valid, read_messages
from marketplaces.douyin_push import douyin_push_apply


class RawBodyParser(BaseParser):
    """The signature covers the exact bytes, so the view reads the body itself (up to the size limit: 413)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return read_body(stream)
        except InputRejected as rejected:
            raise api_input_error(rejected) from None


OutcomeSerializer = inline_serializer(
    "PushOutcome",
    {
        "msg_id": serializers.CharField(),
        "tag": serializers.CharField(),
        "outcome": serializers.ChoiceField(choices=["opened", "replayed", "recorded", "ignored", "refused"]),
        "ticket_id": serializers.IntegerField(allow_null=True),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
    },
)


class DouyinPushView(APIView):
    """抖店 after-sales pushes: 200 售后单创建 opens a ticket, 203 买家退货 records the return's tracking number,
    207 售后关闭 by the buyer records the withdrawal. See docs/douyin-push.md for the fields read."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = [RawBodyParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("event-sign", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("sign-method", str, OpenApiParameter.HEADER, enum=["md5", "hmac-sha256"]),
        ],
        responses={
            200: inline_serializer(
                "PushAccepted",
                {"code": serializers.IntegerField(), "msg": serializers.CharField(), "results": OutcomeSerializer},
            ),
        },
        description=gettext_lazy(
            'Answers {"code": 0, "msg": "success"} when every message was applied or was a replay; 400 with '
            "the refused messages otherwise (nothing of a refused message is written; the platform retries)."
        ),
    )
    def post(self, request):
        body = request.data if isinstance(request.data, bytes) else b""
        if not push_signature_valid(
            body=body,
            app_key=settings.DOUYIN_APP_KEY,
            app_secret=settings.DOUYIN_APP_SECRET,
            method=request.headers.get("sign-method", "md5"),
            signature=request.headers.get("event-sign", ""),
        ):
            raise ActionRefused("bad_signature", gettext_lazy("The push's signature does not match."))
        summary = douyin_push_apply(messages=read_messages(body))
        results = [outcome.__dict__ for outcome in summary.outcomes]
        if summary.refused:
            return Response(
                {
                    "code": "push_refused",
                    "message": summary.refused[0].message,
                    "results": results,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"code": 0, "msg": "success", "results": results})
