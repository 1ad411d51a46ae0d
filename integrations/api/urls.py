"""/api/v1/: one router; each resource module registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from . import tokens

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", tokens.ApiTokenViewSet, basename="token")

urlpatterns = [
    *router.urls,
]
