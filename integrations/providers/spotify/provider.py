"""Spotify: top artists (genres become music interests) and saved tracks."""

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import OAuth2
from integrations.exceptions import ConnectionTestFailed
from integrations.pagination import NextUrlPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require

from . import client, mapping


class SpotifyProvider(Provider):
    slug = "spotify"
    name = "Spotify"
    description = "Your top artists and saved tracks; artist genres become music interests."
    icon = "SP"
    category = "music"
    auth = OAuth2()
    allauth_id = "spotify"
    # Ours: Bearer profile call, status checked, granted scopes kept (allauth's is not).
    allauth_provider = "integrations.providers.spotify.allauth.provider.SpotifyOAuth2Provider"
    scopes = ("user-top-read", "user-library-read")
    api_base_url = "https://api.spotify.com/v1/"
    rate_limit = None  # a rolling 30 s window per app, size unpublished: 429 + Retry-After
    revoke_help = (
        "Spotify has no revocation API: remove ThinkAlike at spotify.com/account/apps to revoke "
        "access there."
    )
    streams = (
        Stream(
            name="top_artists",
            label="Top artists",
            kind="artist",
            purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
            path=client.TOP_ARTISTS,
            params={"time_range": "medium_term"},
            paginator=NextUrlPaginator(limit=50),
            map_record=mapping.map_top_artist,
            interests=mapping.artist_genre_interests,
        ),
        Stream(
            name="saved_tracks",
            label="Saved tracks",
            kind="track",
            purposes=(COMMUNITY_RECOMMENDATION,),
            path=client.SAVED_TRACKS,
            paginator=NextUrlPaginator(limit=50),
            map_record=mapping.map_saved_track,
        ),
    )

    def test_connection(self, client_, connection) -> AccountInfo:
        me = client_.get_json(client.ME)
        account_id = me.get("account_id") or require(me, "id")
        if str(account_id) != connection.external_account_id:
            raise ConnectionTestFailed("The token belongs to a different Spotify account.")
        return AccountInfo(external_id=str(account_id), label=me.get("display_name") or "")
