"""The inbox's two pages: the endpoint notifications are POSTed to, and the list of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from devtools.inbox.messages import message_receive, messages_recent
from devtools.inbox.models import Inbox


def inbox_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.TRIBUTARY_INBOX_ENABLED:
            raise Http404("The callback inbox is off (TRIBUTARY_INBOX_ENABLED).")
        return view(request, *args, **kwargs)

    return wrapper


@csrf_exempt
@inbox_enabled
@require_POST
def receive(request: HttpRequest, name: str) -> HttpResponse:
    inbox = Inbox.objects.filter(name=name).first()
    if inbox is None:
        return JsonResponse(
            {"error": f"No inbox named {name!r}; `python manage.py setup_demo` creates 'demo'."},
            status=404,
        )
    message = message_receive(
        inbox=inbox, headers=request.headers, body=request.body, now=timezone.now()
    )
    return JsonResponse(
        {"id": message.pk, "verified": message.verified, "error": message.verification_error}
    )


@inbox_enabled
@require_GET
@login_required(login_url="events:login")
def message_list(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The callback inbox is for staff.")
    selected = request.GET.get("inbox", "")
    inboxes = [
        (inbox, request.build_absolute_uri(reverse("inbox:receive", args=[inbox.name])))
        for inbox in Inbox.objects.all()
    ]
    return render(
        request,
        "inbox/message_list.html",
        {
            "inboxes": inboxes,
            "selected": selected,
            "inbox_messages": messages_recent(inbox=selected),
        },
    )
