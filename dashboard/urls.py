from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("widgets/<int:pk>/body/", views.widget_body, name="widget_body"),
    path("widgets/<int:pk>/edit/", views.widget_edit, name="widget_edit"),
    path("widgets/<int:pk>/move/", views.widget_move, name="widget_move"),
    path("widgets/<int:pk>/delete/", views.widget_delete, name="widget_delete"),
]
