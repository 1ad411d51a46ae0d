"""One line per stand-in: ``path("<slug>/", include(<module>.urlpatterns))``."""

from django.urls import include, path  # include: used by the stand-in lines

urlpatterns = [
    path("custom_api/", include("integrations.sandbox.standins.custom_api")),
]
