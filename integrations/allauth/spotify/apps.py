from django.apps import AppConfig


class CustomSpotifyConfig(AppConfig):
    # Replaces allauth's stock Spotify app, which must not be installed next to it.
    name = "integrations.allauth.spotify"
    label = "custom_spotify"
    verbose_name = "Spotify sign-in (allauth provider)"
