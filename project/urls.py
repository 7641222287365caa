from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from events.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("elements/api-v2/", include("project.api_urls")),
    path("events/", include("events.urls")),
]
if settings.TRIBUTARY_DEV_TOOLS:
    urlpatterns.append(path("inbox/", include("devtools.inbox.urls")))
