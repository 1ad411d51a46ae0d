from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.your_data, name="your_data"),
    path("interests/<str:slug>/", views.interest_items, name="interest_items"),
    path("<int:pk>/<slug:stream>/", views.stream_items, name="stream_items"),
]
