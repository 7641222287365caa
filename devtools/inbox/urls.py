from django.urls import path

from devtools.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.message_list, name="list"),
    path("<slug:name>/", views.receive, name="receive"),
]
