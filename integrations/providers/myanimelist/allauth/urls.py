from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import MyAnimeListOAuth2Provider

urlpatterns = default_urlpatterns(MyAnimeListOAuth2Provider)
