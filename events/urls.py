from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("log/", views.event_log_list, name="log"),
    path("log/<int:pk>/", views.event_log_detail, name="log-detail"),
    path("log/<int:pk>/redeliver", views.event_log_redeliver, name="log-redeliver"),
    path("log/<int:pk>/release", views.event_log_release, name="log-release"),
    path("log/<int:pk>/<str:part>.json", views.event_log_download, name="log-download"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
]
