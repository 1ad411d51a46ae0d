from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import AniListOAuth2Provider

urlpatterns = default_urlpatterns(AniListOAuth2Provider)
