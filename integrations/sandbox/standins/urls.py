"""One line per stand-in: ``path("<slug>/", include(<module>.urlpatterns))``."""

from django.urls import include, path  # noqa: F401  # include: used by the stand-in lines

urlpatterns = [
]
