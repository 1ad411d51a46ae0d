"""One line per stand-in: ``path("<slug>/", include(<module>.urlpatterns))``."""

from django.urls import include, path

urlpatterns = [
    path("telegram/", include("integrations.sandbox.standins.telegram")),
    path("stripe/", include("integrations.sandbox.standins.stripe")),
    path("sendgrid/", include("integrations.sandbox.standins.sendgrid")),
    path("plausible/", include("integrations.sandbox.standins.plausible")),
    path("custom_api/", include("integrations.sandbox.standins.custom_api")),
    path("myanimelist/", include("integrations.sandbox.standins.myanimelist")),
    path("kitsu/", include("integrations.sandbox.standins.kitsu")),
]
