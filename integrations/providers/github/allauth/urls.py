from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import GitHubConnectProvider

urlpatterns = default_urlpatterns(GitHubConnectProvider)
