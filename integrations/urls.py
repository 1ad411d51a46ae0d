from django.urls import path

from . import views
from .api import oauth_connect
from .proxy import views as proxy_views

app_name = "integrations"

urlpatterns = [
    path("", views.connected_services, name="connected_services"),
    path("interests/", views.interests, name="interests"),
    # An OAuth connect started through the API (integrations/api/oauth_connect.py).
    path("api-connect/", oauth_connect.api_connect_start, name="api_connect_start"),
    path("api-connect/return/", oauth_connect.api_connect_return, name="api_connect_return"),
    path("<slug:slug>/connect/", views.connect, name="connect"),
    path("<slug:slug>/app/", views.personal_app, name="personal_app"),
    path("<slug:slug>/app/delete/", views.personal_app_delete, name="personal_app_delete"),
    path("<int:pk>/", views.connection_detail, name="connection_detail"),
    path("<int:pk>/sync/", views.sync_now, name="sync_now"),
    path("<int:pk>/settings/", views.connection_settings, name="connection_settings"),
    path("<int:pk>/purge/", views.purge_data, name="purge_data"),
    path("<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("<int:pk>/actions/<slug:action>/", views.action_perform, name="action_perform"),
    path("<int:pk>/runs/<int:run_pk>/", views.run_detail, name="run_detail"),
    path("<int:pk>/runs/<int:run_pk>/status/", views.run_status, name="run_status"),
    path("<int:pk>/proxy-cache/", proxy_views.proxy_ttl_set, name="proxy_ttl_set"),
]
