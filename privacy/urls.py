from django.urls import path

from . import views, views_export

app_name = "privacy"

urlpatterns = [
    path("", views.your_data, name="your_data"),
    path("export/", views_export.export, name="export"),
    path("export/<int:pk>/status/", views_export.export_status, name="export_status"),
    path("export/<int:pk>/download/", views_export.export_download, name="export_download"),
    path("delete/", views.delete_all, name="delete_all"),
    path("delete-account/", views.delete_account, name="delete_account"),
    path("goodbye/", views.goodbye, name="goodbye"),
    path("interests/<str:slug>/", views.interest_items, name="interest_items"),
    path("<int:pk>/<slug:stream>/", views.stream_items, name="stream_items"),
]
