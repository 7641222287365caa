"""Routes of the Apps API under /elements/api-v2/: Cloud Elements' paths, without a trailing
slash as Cloud Elements wrote them, and with one too."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from events import api as events_api
from events import webhook_views
from integrations import api as integrations_api
from project.api_errors import not_found


def route(pattern: str, view, name: str) -> list[URLPattern]:
    """``pattern`` and ``pattern/``; the schema documents the first only."""
    view = view.as_view()
    return [path(pattern, view, name=name), path(f"{pattern}/", view)]


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Elements.
    *route("elements", integrations_api.ElementList, "api-elements"),
    *route("elements/<str:key>", integrations_api.ElementDetail, "api-element"),
    *route("elements/<str:key>/oauth/token", integrations_api.ElementOAuthToken, "api-oauth-token"),
    *route("elements/<str:key>/oauth/url", integrations_api.ElementOAuthUrl, "api-oauth-url"),
    # Events across instances (before instances/<id> so "events" is never taken for an id).
    *route("instances/events", events_api.EventList, "api-events"),
    *route("instances/events/<int:pk>", events_api.EventDetail, "api-event"),
    # Instances.
    *route("instances", integrations_api.InstanceList, "api-instances"),
    *route("instances/<int:pk>", integrations_api.InstanceDetail, "api-instance"),
    *route("instances/<int:pk>/events", events_api.InstanceEventList, "api-instance-events"),
    *route(
        "instances/<int:pk>/notifications/reactivate",
        events_api.InstanceReactivate,
        "api-instance-reactivate",
    ),
    *route(
        "instances/<int:pk>/deliveries/redeliver",
        events_api.InstanceRedeliver,
        "api-instance-redeliver",
    ),
    *route("instances/<int:pk>/pollers", events_api.PollerList, "api-pollers"),
    *route("instances/<int:pk>/pollers/<str:name>", events_api.PollerDetail, "api-poller"),
    *route("instances/<int:pk>/pollers/<str:name>/poll", events_api.PollerPoll, "api-poller-poll"),
    # Deliveries.
    *route("deliveries", events_api.DeliveryList, "api-deliveries"),
    *route("deliveries/<int:pk>", events_api.DeliveryDetail, "api-delivery"),
    *route("deliveries/<int:pk>/redeliver", events_api.DeliveryRedeliver, "api-delivery-redeliver"),
    *route("deliveries/<int:pk>/release", events_api.DeliveryRelease, "api-delivery-release"),
    # Inbound provider webhooks: plain Django views, the body's bytes untouched for signatures.
    path("events/<str:element_key>", webhook_views.receive, name="webhook"),
    path("events/<str:element_key>/", webhook_views.receive),
    path("events/<str:element_key>/<str:token>", webhook_views.receive, name="webhook-instance"),
    path("events/<str:element_key>/<str:token>/", webhook_views.receive),
    # Anything else under the API base: a JSON 404.
    re_path(r"^[\s\S]*$", not_found),
]
