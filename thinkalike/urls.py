from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from integrations.api import pages as api_pages
from integrations.api.schema import SchemaView

urlpatterns = [
    path("", lambda request: redirect("integrations:connected_services"), name="home"),
    path("admin/", admin.site.urls),
    # allauth's own connections page would remove a SocialAccount without revoking its token or
    # deleting its Connection: every disconnect goes through Connected Services instead.
    path("accounts/3rdparty/",
         RedirectView.as_view(pattern_name="integrations:connected_services")),
    path("accounts/", include("allauth.urls")),
    path("connections/", include("integrations.urls")),
    path("consent/", include("consent.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("library/", include("library.urls")),
    path("your-data/", include("privacy.urls")),
    path("notices/", include("notices.urls")),
    path("api-tokens/", api_pages.api_tokens, name="api_tokens"),
    path("api-tokens/<str:key>/revoke/", api_pages.api_token_delete, name="api_token_delete"),
    path("api/v1/", include("integrations.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The sandbox's own views refuse every request unless THINKALIKE_SANDBOX is on; the check is
    # made per request so tests can switch it.
    path("sandbox/", include("integrations.sandbox.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
