"""GitHub: the repositories you starred; their language and topics become code interests."""

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations import classify
from integrations.auth import OAuth2
from integrations.cursors import IsoTimeCursor
from integrations.exceptions import ConnectionTestFailed
from integrations.pagination import LinkHeaderPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require

from . import client, mapping

OTHER_ACCOUNT = "The token belongs to a different GitHub account."


class GitHubProvider(Provider):
    slug = "github"
    name = "GitHub"
    description = "The repositories you starred; their languages and topics become code interests."
    icon = "GH"
    category = "code"
    auth = OAuth2()
    allauth_id = "github"
    # allauth's, with PKCE, declared scopes, a checked numeric uid and safe token answers.
    allauth_provider = "integrations.providers.github.allauth.provider.GitHubConnectProvider"
    scopes = ("read:user",)  # stars are public: no scope is needed to read them
    api_base_url = client.API_BASE
    rate_limit = (5000, 3600)  # per user, shared by every app acting for them
    rate_limit_per_connection = True
    revoke_url = client.REVOKE_TOKEN
    streams = (
        Stream(
            name="starred",
            label="Starred repositories",
            kind="repository",
            purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
            path=client.STARRED,
            headers=client.STAR_MEDIA_TYPE,
            paginator=LinkHeaderPaginator(per_page=100),
            map_record=mapping.map_star,
            interests=mapping.code_interests,
            # No "since" for stars: an incremental pass re-asks the first page with its ETag,
            # and GitHub's 304 (free of its rate limit) ends it.
            incremental=True,
            cursor=IsoTimeCursor("starred_at"),
        ),
    )

    def default_headers(self) -> dict[str, str]:
        return dict(client.HEADERS)

    def classify_response(self, response) -> classify.Classification:
        # GitHub says "rate limited" with a 403 as well as a 429.
        return classify.github_rate_limit(response) or super().classify_response(response)

    def test_connection(self, client_, connection) -> AccountInfo:
        user = client_.get_json(client.USER)
        account_id = str(require(user, "id", int))
        if account_id != connection.external_account_id:
            raise ConnectionTestFailed(OTHER_ACCOUNT)
        return AccountInfo(external_id=account_id, label=require(user, "login"))

    def revoke_request(self, credential, endpoint):
        return client.revoke_token_request(credential.access_token, endpoint)
