"""GitHub REST endpoints used here (paths relative to the API base) and the revocation call."""

from requests.auth import HTTPBasicAuth

from integrations.auth import TokenEndpoint
from integrations.wire import ApiRequest

API_BASE = "https://api.github.com/"
# https://docs.github.com/en/rest/about-the-rest-api/api-versions (pinned, not "latest")
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
# https://docs.github.com/en/rest/activity/starring#list-repositories-starred-by-the-authenticated-user
STARRED = "user/starred"
# Each item becomes {"starred_at", "repo"} instead of a bare repository.
STAR_MEDIA_TYPE = {"Accept": "application/vnd.github.star+json"}
# https://docs.github.com/en/rest/users/users#get-the-authenticated-user
USER = "user"
# https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-token
REVOKE_TOKEN = API_BASE + "applications/{client_id}/token"


def revoke_token_request(access_token: str,
                         endpoint: TokenEndpoint) -> tuple[ApiRequest, HTTPBasicAuth]:
    """DELETE the one token, the app's client id and secret in HTTP Basic (GitHub's adapter
    sends them in the token request's body, which is where the endpoint holds them)."""
    client_id, secret = endpoint.body["client_id"], endpoint.body["client_secret"]
    request = ApiRequest(REVOKE_TOKEN.format(client_id=client_id), method="DELETE",
                         json={"access_token": access_token}, headers=dict(HEADERS))
    return request, HTTPBasicAuth(client_id, secret)
