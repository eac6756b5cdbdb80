"""The platforms' push door: `POST /marketplaces/push/<connection id>/`. The adapter verifies the signature against
that connection's app secret; a push that does not verify is answered 401 and nothing of it is read. A verified
push is applied at once (each record re-read first where the push carries no version) and answered in the
platform's success shape, so the platform does not send it again; what failed to apply is brought by the next pull.
"""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from desk.input_checks import InputRejected, read_body
from marketplaces.adapters.base import SignatureInvalid
from marketplaces.models import ShopConnection
from marketplaces.services import push_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def push(request, connection_id: int):
    connection = (
        ShopConnection.objects.filter(pk=connection_id, is_enabled=True).select_related("shop__platform").first()
    )
    if connection is None:
        return JsonResponse({"code": 404, "msg": "unknown connection"}, status=404)
    try:
        body = read_body(request)
    except InputRejected as rejected:
        return JsonResponse({"code": 413, "msg": str(rejected)}, status=413)
    try:
        summary = push_receive(connection=connection, headers=dict(request.headers.items()), body=body)
    except SignatureInvalid as error:
        logger.warning("marketplace push for connection %s refused: %s", connection.pk, error.message)
        return JsonResponse({"code": 401, "msg": "signature invalid"}, status=401)
    return JsonResponse({"code": 0, "msg": "success", "records": summary.records})
