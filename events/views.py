"""Event log pages: thin views over the selectors in events/eventlog.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.http import is_success
from events.delivery import with_holds
from events.eventlog import (
    Bar,
    Filters,
    deliveries_for,
    deliveries_visible,
    delivery_chart,
    delivery_detail,
    excerpt,
    filter_choices,
    message_of,
    pretty,
    raw_of,
)
from events.operations import deliveries_redeliver, deliveries_release_held

LOGIN_URL = "events:login"
CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 720, 150, 10


def login_view(request: HttpRequest) -> HttpResponse:
    return auth_views.LoginView.as_view(
        template_name="events/login.html", redirect_authenticated_user=True
    )(request)


def logout_view(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view(next_page=LOGIN_URL)(request)


@login_required(login_url=LOGIN_URL)
def event_log_list(request: HttpRequest) -> HttpResponse:
    filters = Filters.from_query(request.GET)
    page = deliveries_for(
        user=request.user,
        filters=filters,
        before=request.GET.get("before", ""),
        after=request.GET.get("after", ""),
    )
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    bars = delivery_chart(user=request.user, now=timezone.now(), filters=filters)
    return render(
        request,
        "events/log_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "chart": chart(bars),
            **filter_choices(user=request.user),
        },
    )


@login_required(login_url=LOGIN_URL)
def event_log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rows = with_holds(deliveries_visible(user=request.user).select_related("instance__element"))
    event_log = get_object_or_404(rows, pk=pk)
    detail = delivery_detail(event_log=event_log)
    attempts = [
        (attempt, excerpt(attempt.response_body), is_success(attempt.status_code))
        for attempt in detail.attempts
    ]
    return render(
        request, "events/log_detail.html", {"detail": detail, "d": event_log, "attempts": attempts}
    )


@login_required(login_url=LOGIN_URL)
@require_POST
def event_log_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    event_log = get_object_or_404(deliveries_visible(user=request.user), pk=pk)
    redelivery = deliveries_redeliver(event_log_ids=[event_log.pk], background=True)
    messages.success(
        request, f"{redelivery.queued_message('for redelivery')} Reload to see the new attempt."
    )
    return redirect("events:log-detail", pk=event_log.pk)


@login_required(login_url=LOGIN_URL)
@require_POST
def event_log_release(request: HttpRequest, pk: int) -> HttpResponse:
    """Release held deliveries: later deliveries of this one's objects stop waiting for it."""
    event_log = get_object_or_404(deliveries_visible(user=request.user), pk=pk)
    release = deliveries_release_held(event_log_ids=[event_log.pk], background=True)
    messages.success(request, release.message)
    return redirect("events:log-detail", pk=event_log.pk)


@login_required(login_url=LOGIN_URL)
def event_log_download(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """The whole message (as sent) or its raw part, as a JSON file download."""
    event_log = get_object_or_404(deliveries_visible(user=request.user), pk=pk)
    if part == "message":
        content = event_log.body
    elif part == "raw":
        content = pretty(raw_of(message_of(event_log)))
    else:
        raise Http404("Unknown part")
    response = HttpResponse(
        content.encode("utf-8", "backslashreplace"), content_type="application/json"
    )
    name = f"delivery-{event_log.delivery_id}-{part}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def chart(bars: list[Bar]) -> dict:
    """Geometry of the hourly stacked-bar chart, drawn as inline SVG by the template."""
    top = max((bar.delivered + bar.failed for bar in bars), default=0) or 1
    slot = CHART_WIDTH / max(len(bars), 1)
    scale = (CHART_HEIGHT - CHART_TOP) / top
    shapes = []
    for index, bar in enumerate(bars):
        delivered_h = bar.delivered * scale
        failed_h = bar.failed * scale
        shapes.append(
            {
                "bar": bar,
                "x": round(index * slot + 2, 1),
                "width": round(slot - 4, 1),
                "delivered_y": round(CHART_HEIGHT - delivered_h, 1),
                "delivered_h": round(delivered_h, 1),
                "failed_y": round(CHART_HEIGHT - delivered_h - failed_h, 1),
                "failed_h": round(failed_h, 1),
                "label": index % 6 == 0,
                "label_x": round(index * slot + (2 if index == 0 else slot / 2), 1),
            }
        )
    return {
        "bars": shapes,
        "top": top,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "delivered": sum(bar.delivered for bar in bars),
        "failed": sum(bar.failed for bar in bars),
    }
