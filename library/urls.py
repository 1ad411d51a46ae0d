from django.urls import path

from . import views

app_name = "library"

urlpatterns = [
    path("", views.library, name="library"),
    path("<int:pk>/", views.entry_detail, name="entry"),
    path("<int:pk>/link/", views.entry_link, name="entry_link"),
    path("<int:pk>/unlink/<int:item_pk>/", views.entry_unlink, name="entry_unlink"),
    path("connections/<int:pk>/switches/", views.connection_switches,
         name="connection_switches"),
    path("connections/<int:pk>/sync/", views.connection_sync_now, name="connection_sync_now"),
]
