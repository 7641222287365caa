"""The inbound webhook endpoint: throttle, parse the HTTP request, call webhook_receive,
answer.

Plain Django (not DRF): the body's bytes must reach signature checks untouched, and nothing a
sender can send may produce a 500.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.validators import slug_re
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.throttling import SimpleRateThrottle

from events.tasks import deliveries_enqueue
from events.webhooks import MAX_BODY_BYTES, WebhookRejected, webhook_receive

log = logging.getLogger(__name__)


class WebhookThrottle(SimpleRateThrottle):
    """``TRIBUTARY_WEBHOOK_RATE`` requests per client address and element, counted in
    Django's cache the way the API's throttles count (DRF's sliding window), the client's
    address told as the API tells it (``TRIBUTARY_TRUSTED_PROXIES``)."""

    def __init__(self, element_key: str) -> None:
        # Element keys are slugs; anything else shares one count (and is answered 404).
        self.element_key = element_key if slug_re.fullmatch(element_key) else "-"
        super().__init__()

    def get_rate(self) -> str | None:
        return settings.TRIBUTARY_WEBHOOK_RATE or None

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        return f"throttle_webhook_{self.element_key[:64]}_{self.get_ident(request)}"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, element_key: str, token: str | None = None) -> JsonResponse:
    throttle = WebhookThrottle(element_key)
    if not throttle.allow_request(request, None):
        wait = max(1, math.ceil(throttle.wait() or 1))
        response = JsonResponse(
            {
                "message": "too many webhook requests from this address: at most "
                f"{settings.TRIBUTARY_WEBHOOK_RATE} per element; retry in {wait} seconds"
            },
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
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
