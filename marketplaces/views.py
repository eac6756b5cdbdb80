"""The platforms' push door: `POST /marketplaces/push/<connection id>/`. The adapter verifies the signature against
that connection's app secret; a push that does not verify is answered 401 and nothing of it is read. A verified
push is applied at once (each record re-read first where the push carries no version) and answered in the
platform's success shape, so the platform does not send it again; what failed to apply is brought by the next pull.

WeChat signs in the URL's query: the door hands the query to the adapter (base.PUSH_QUERY_HEADER). A GET is the
platform console's URL check (WeChat's echostr), answered by an adapter that has `answer_url_check`; 405 elsewhere.
"""

import logging

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aftersales.models import AfterSalesTicket
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, read_body
from marketplaces.adapters import get_adapter
from marketplaces.adapters.base import PUSH_QUERY_HEADER, SignatureInvalid
from marketplaces.models import ShopConnection
from marketplaces.outbound import ticket_message_buyer
from marketplaces.services import credentials_for, push_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def push(request, connection_id: int):
    connection = (
        ShopConnection.objects.filter(pk=connection_id, is_enabled=True).select_related("shop__platform").first()
    )
    if connection is None:
        return JsonResponse({"code": 404, "msg": "unknown connection"}, status=404)
    if request.method == "GET":
        return _url_check(request, connection)
    try:
        body = read_body(request)
    except InputRejected as rejected:
        return JsonResponse({"code": 413, "msg": str(rejected)}, status=413)
    try:
        headers = dict(request.headers.items())
        headers[PUSH_QUERY_HEADER] = request.META.get("QUERY_STRING", "")
        summary = push_receive(connection=connection, headers=headers, body=body)
    except SignatureInvalid as error:
        logger.warning("marketplace push for connection %s refused: %s", connection.pk, error.message)
        return JsonResponse({"code": 401, "msg": "signature invalid"}, status=401)
    return JsonResponse({"code": 0, "msg": "success", "records": summary.records})


def _url_check(request, connection: ShopConnection):
    adapter = get_adapter(connection.platform_code)
    if not hasattr(adapter, "answer_url_check"):
        return HttpResponseNotAllowed(["POST"])
    try:
        answer = adapter.answer_url_check(credentials_for(connection), request.GET.dict())
    except SignatureInvalid as error:
        logger.warning("marketplace URL check for connection %s refused: %s", connection.pk, error.message)
        return JsonResponse({"code": 401, "msg": "signature invalid"}, status=401)
    return HttpResponse(answer, content_type="text/plain; charset=utf-8")


@staff_member_required
def message_buyer(request, ticket_id: int):
    """The agent's message to the buyer of a connected shop's ticket (ticket_message_buyer checks who may)."""
    ticket = get_object_or_404(AfterSalesTicket.objects.select_related("shop"), pk=ticket_id)
    back = reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])
    context = {"ticket": ticket, "back": back, "text": "", "with_evidence": False, "error": ""}
    if request.method == "POST":
        text = str(request.POST.get("text", ""))[:400]
        with_evidence = request.POST.get("with_evidence") == "1"
        try:
            ticket_message_buyer(ticket=ticket, by=request.user, text=text, with_evidence=with_evidence)
        except ActionRefused as refusal:
            context |= {"text": text, "with_evidence": with_evidence, "error": refusal.message}
            return render(request, "marketplaces/message_buyer.html", context, status=400)
        messages.success(request, _("The message is queued for the platform."))
        return redirect(back)
    return render(request, "marketplaces/message_buyer.html", context)
