from django.urls import include, path

from . import api, authorize, knobs, oauth

app_name = "sandbox"

urlpatterns = [
    path("oauth/authorize", authorize.authorize, name="authorize"),
    path("oauth/token", oauth.token, name="token"),
    path("oauth/revoke", oauth.revoke, name="revoke"),
    path("api/v1/me", api.me, name="me"),
    path("api/v1/me/tracks", api.saved_tracks, name="tracks"),
    path("api/v1/me/top-artists", api.top_artists, name="top_artists"),
    path("knobs/", knobs.knobs, name="knobs"),
    path("knobs/revoke-all/", knobs.revoke_all, name="revoke_all"),
    path("knobs/clear-request-log/", knobs.clear_request_log, name="clear_request_log"),
    path("stand-ins/", include("integrations.sandbox.standins.urls")),
]
