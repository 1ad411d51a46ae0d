from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import SandboxProvider

urlpatterns = default_urlpatterns(SandboxProvider)
