"""/api/v1/: one router; each resource module registers its viewsets here."""

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from . import proxy, tokens

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", tokens.ApiTokenViewSet, basename="token")

urlpatterns = [
    *router.urls,
    re_path(r"^connections/(?P<id>[0-9]+)/proxy/(?P<path>.*)$",
            proxy.ConnectionProxyView.as_view(), name="connection-proxy"),
]
