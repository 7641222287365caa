"""The inbound webhook endpoint: parse the HTTP request, call webhook_receive, answer.

Plain Django (not DRF): the body's bytes must reach signature checks untouched, and nothing a
sender can send may produce a 500.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from events.tasks import deliveries_enqueue
from events.webhooks import MAX_BODY_BYTES, WebhookRejected, webhook_receive

log = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, element_key: str, token: str | None = None) -> JsonResponse:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return JsonResponse({"message": f"the body is over {MAX_BODY_BYTES} bytes"}, status=413)
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"message": f"the body is over {MAX_BODY_BYTES} bytes"}, status=413)
    try:
        receipt = webhook_receive(
            element_key=element_key,
            token=token,
            method=request.method,
            headers=dict(request.headers),
            body=body,
            query={key: request.GET.getlist(key) for key in request.GET},
        )
    except WebhookRejected as exc:
        return JsonResponse({"message": exc.message}, status=exc.status)
    deliveries_enqueue(event_log_ids=receipt.event_log_ids)
    return JsonResponse(
        {
            "accepted": receipt.events,
            "duplicates": receipt.duplicates,
            "instances": receipt.instances,
        },
        status=202,
    )
