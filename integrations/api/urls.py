"""/api/v1/: one router; each resource module registers its viewsets here."""

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from consent import api as consent_api

from . import errors, interests, tokens

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", tokens.ApiTokenViewSet, basename="token")
router.register("consent/history", consent_api.ConsentHistoryViewSet, basename="consent-history")
router.register("consent", consent_api.ConsentViewSet, basename="consent")
router.register("interests", interests.InterestViewSet, basename="interest")

urlpatterns = [
    *router.urls,
    re_path(r"", errors.not_found),  # last: an unknown path is a JSON 404 too
]
