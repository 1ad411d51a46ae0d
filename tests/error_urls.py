"""The site's URLs plus views that fail on purpose, for the error page and logging tests."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from thinkalike.urls import urlpatterns as site_urlpatterns


def forbidden(request):
    raise PermissionDenied("not yours")


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-errors/403/", forbidden),
    path("test-errors/500/", broken),
    *site_urlpatterns,
]
