from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.connected_services, name="connected_services"),
]
