from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("", views.consent_settings, name="settings"),
    path("set/", views.consent_set_view, name="set"),
    path("purge-stream/", views.purge_stream, name="purge_stream"),
    path("receipts/<int:pk>/", views.receipt, name="receipt"),
]
