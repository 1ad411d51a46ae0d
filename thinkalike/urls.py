from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

urlpatterns = [
    path("", lambda request: redirect("integrations:connected_services"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("connections/", include("integrations.urls")),
    path("consent/", include("consent.urls")),
    # The sandbox's own views refuse every request unless THINKALIKE_SANDBOX is on; the check is
    # made per request so tests can switch it.
    path("sandbox/", include("integrations.sandbox.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
