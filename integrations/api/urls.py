"""/api/v1/: one router; each resource module registers its viewsets here."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from consent import api as consent_api
from library import api as library_api
from notices import api as notices_api
from privacy import api as privacy_api
from privacy import export_api as privacy_export_api

from . import (
    connection_actions,
    connection_data,
    connections,
    errors,
    interests,
    providers,
    proxy,
    tokens,
)

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", tokens.ApiTokenViewSet, basename="token")
router.register("providers", providers.ProviderViewSet, basename="provider")
router.register("connections", connections.ConnectionViewSet, basename="connection")
CONNECTION = r"connections/(?P<connection_pk>[0-9]{1,18})"
router.register(f"{CONNECTION}/runs", connection_data.SyncRunViewSet, basename="connection-run")
router.register(f"{CONNECTION}/items", connection_data.ItemViewSet, basename="connection-item")
router.register(f"{CONNECTION}/actions", connection_actions.ConnectionActionViewSet,
                basename="connection-action")
router.register(f"{CONNECTION}/action-runs", connection_actions.ActionRunViewSet,
                basename="connection-action-run")
router.register("consent/history", consent_api.ConsentHistoryViewSet, basename="consent-history")
router.register("consent", consent_api.ConsentViewSet, basename="consent")
router.register("interests", interests.InterestViewSet, basename="interest")
router.register("notices", notices_api.NoticeViewSet, basename="notice")
router.register("library/conflicts", library_api.ConflictViewSet, basename="library-conflict")
router.register("library", library_api.LibraryEntryViewSet, basename="library-entry")

urlpatterns = [
    *router.urls,
    # Done by name, so not a router route (those are by id).
    path("connections/<int:connection_pk>/actions/<slug:name>/",
         connection_actions.ConnectionActionViewSet.as_view({"post": "perform"}),
         name="connection-action-perform"),
    # One settings object per connection, not a collection: not a router route.
    re_path(r"^connections/(?P<id>[0-9]{1,18})/list-sync/$",
            library_api.ListSyncViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
            name="connection-list-sync"),
    # The caller's own export, one at a time: no id, not a router route.
    path("export/", privacy_export_api.ExportView.as_view(), name="export"),
    path("export/download/", privacy_export_api.ExportDownloadView.as_view(),
         name="export-download"),
    re_path(r"^connections/(?P<id>[0-9]+)/proxy/(?P<path>.*)$",
            proxy.ConnectionProxyView.as_view(), name="connection-proxy"),
    # Deleting everything, or the account: one action each, not collections.
    path("data/purge/", privacy_api.DataPurgeView.as_view(), name="data-purge"),
    path("account/", privacy_api.AccountView.as_view(), name="account"),
    re_path(r"", errors.not_found),  # last: an unknown path is a JSON 404 too
]
