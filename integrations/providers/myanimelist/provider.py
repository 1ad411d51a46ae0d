"""MyAnimeList: a person's anime and manga lists (genres become interests), and an action
that updates one list entry."""

from dataclasses import replace

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import OAuth2
from integrations.exceptions import ConnectionTestFailed
from integrations.pagination import NextUrlPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require

from . import actions, client, errors, mapping

OTHER_ACCOUNT = "The token belongs to a different MyAnimeList account."

ANIME_LIST = Stream(
    name="anime_list",
    label="Anime list",
    kind="anime",
    purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
    path=client.ANIME_LIST,
    params=client.list_params(client.ANIME_FIELDS),
    # paging.next is a whole URL carrying every parameter of the first request.
    paginator=NextUrlPaginator(items_key="data", next_key="paging.next",
                               limit=client.PAGE_SIZE),
    map_record=mapping.list_entry_mapper("num_episodes_watched", "num_episodes",
                                         "is_rewatching"),
    interests=mapping.list_interests("anime"),
    # Full passes only: the lists have no "updated since" filter. sort=list_updated_at
    # (newest first) would allow stopping at the cursor, which the stream engine cannot do.
    incremental=False,
)
MANGA_LIST = replace(ANIME_LIST, name="manga_list", label="Manga list", kind="manga",
                     path=client.MANGA_LIST, params=client.list_params(client.MANGA_FIELDS),
                     map_record=mapping.list_entry_mapper("num_chapters_read", "num_chapters",
                                                       "is_rereading"),
                     interests=mapping.list_interests("manga"))


class MyAnimeListProvider(Provider):
    slug = "myanimelist"
    name = "MyAnimeList"
    description = "Your anime and manga lists; their genres become interests."
    icon = "MA"
    category = "anime"
    auth = OAuth2()
    allauth_id = "myanimelist"
    # allauth has no MyAnimeList provider: ours, with the PKCE "plain" method MAL requires.
    allauth_provider = ("integrations.providers.myanimelist.allauth.provider."
                        "MyAnimeListOAuth2Provider")
    personal_app = True
    scopes = ()  # none to ask for: a token reads and writes the person's lists
    api_base_url = client.API_BASE
    # The demo's stand-in takes any token shaped like MAL's (a JWT) as its demo account's;
    # setup_demo stores this one, as MAL's sign-in page cannot be walked offline.
    stand_in = True
    stand_in_example = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdGFuZC1pbi1kZW1vIn0."
                        "c3RhbmQtaW4tZGVtby1zaWduYXR1cmU")
    # Unpublished; client authors keep to about one request a second, and MAL answers more
    # with a 403 ban: half of that.
    rate_limit = (30, 60.0)
    revoke_help = (
        "MyAnimeList has no revocation API: disconnecting deletes the tokens kept here; those "
        "MyAnimeList issued stop working when they expire, about a month after the last renewal."
    )
    streams = (ANIME_LIST, MANGA_LIST)
    actions = (actions.UPDATE_ENTRY,)

    def classify_response(self, response):
        return errors.classify_response(response)

    def test_connection(self, client_, connection) -> AccountInfo:
        me = client_.get_json(client.ME)
        account_id = require(me, "id", int)
        if str(account_id) != connection.external_account_id:
            raise ConnectionTestFailed(OTHER_ACCOUNT)
        name = me.get("name")
        return AccountInfo(external_id=str(account_id),
                           label=name[:100] if isinstance(name, str) else "")
