from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import SandboxOAuth2Provider

urlpatterns = default_urlpatterns(SandboxOAuth2Provider)
