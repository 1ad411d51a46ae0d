"""GitHub: the repositories you starred; their language and topics become code interests."""

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations import classify
from integrations.auth import OAuth2
from integrations.cursors import IsoTimeCursor
from integrations.exceptions import ConnectionTestFailed
from integrations.formfields import FormField
from integrations.pagination import LinkHeaderPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from . import client, mapping

OTHER_ACCOUNT = "The token belongs to a different GitHub account."

# https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
PAGING = (
    FormField("per_page", "Per page (1 to 100)", pattern=r"[1-9][0-9]?|100", max_length=3,
              required=False),
    FormField("page", "Page", pattern=r"[1-9][0-9]{0,4}", max_length=5, required=False),
)
SORT = (
    FormField("sort", "Sort by", choices=(("created", "Created"), ("updated", "Updated"),
                                         ("pushed", "Pushed"), ("full_name", "Name")),
              required=False),
    FormField("direction", "Direction", choices=(("asc", "Ascending"), ("desc", "Descending")),
              required=False),
)


def _read(path: str, label: str, *params: FormField, records: bool = True,
          time_field: str = "") -> ProxyEndpoint:
    return ProxyEndpoint(path, label, params=(*(PAGING if records else ()), *params),
                         time_field=time_field)


# Read-only user endpoints (https://docs.github.com/en/rest/users, /repos, /activity/starring).
PROXY = ProxySpec(
    endpoints=(
        _read("/user", "Your profile", records=False),
        _read("/user/repos", "Your repositories", *SORT, FormField(
            "visibility", "Visibility", choices=(("all", "All"), ("public", "Public"),
                                                 ("private", "Private")), required=False),
            time_field="created_at"),
        _read("/user/starred", "Repositories you starred", *SORT[1:], FormField(
            "sort", "Sort by", choices=(("created", "Starred"), ("updated", "Pushed")),
            required=False), time_field="created_at"),
        _read("/user/followers", "Your followers"),
        _read("/user/following", "Who you follow"),
        _read("/user/orgs", "Your organisations"),
        _read("/users/{username}", "A user's profile", records=False),
        _read("/users/{username}/repos", "A user's public repositories", *SORT,
              time_field="created_at"),
        _read("/users/{username}/starred", "A user's stars", time_field="created_at"),
    ),
    ttl_seconds=60,
    requests_per_minute=30,
)


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
    proxy = PROXY
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
