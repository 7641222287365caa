"""Who a client is, and the limits on clients that are not logged in.

A client is its address: ``REMOTE_ADDR``, or, behind ``TRIBUTARY_TRUSTED_PROXIES`` proxies,
the address the nearest of them saw in ``X-Forwarded-For`` (a header a client can fill with
anything, so it is believed only when proxies are trusted). The Apps API's throttles and
the login lockout (django-axes) count by this one address.

DRF checks throttles after authentication and permissions, so a request without valid
credentials is answered 401 before any throttle sees it, and a flood of them is never
slowed. The API's exception handler below counts such a request against the anonymous rate
(``TRIBUTARY_API_ANON_RATE``, the same count as ``AnonRateThrottle``'s) and answers 429
with ``Retry-After`` once it is spent. Handling it there, not in a throttle that runs first,
leaves a request with valid credentials to the per-token rate alone, whatever else comes
from its address.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle

from project.api_errors import exception_handler as api_exception_handler


def client_address(request: HttpRequest) -> str:
    """The client's address (django-axes' ``AXES_CLIENT_IP_CALLABLE``), as DRF's throttles
    identify it with ``NUM_PROXIES``."""
    return BaseThrottle().get_ident(request)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The Apps API's ``EXCEPTION_HANDLER``: a 401 counts against the anonymous rate, and is
    a 429 once that is spent; then every error takes the API's one shape."""
    if isinstance(exc, NotAuthenticated | AuthenticationFailed):
        throttle = AnonRateThrottle()
        if not throttle.allow_request(context["request"], context["view"]):
            exc = Throttled(throttle.wait())
    return api_exception_handler(exc, context)
