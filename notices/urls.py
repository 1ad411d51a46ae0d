from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.notices, name="notices"),
    path("read/", views.mark_all_read, name="mark_all_read"),
    path("settings/", views.notification_settings, name="settings"),
]
