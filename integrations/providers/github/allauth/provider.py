from allauth.socialaccount.providers.github.provider import GitHubAccount, GitHubProvider

from integrations.allauth.oauth2 import ConnectOAuth2Provider, uid_from

from .views import GitHubConnectAdapter


class GitHubConnectAccount(GitHubAccount):
    def to_str(self):
        return self.account.extra_data.get("login") or super().to_str()


class GitHubConnectProvider(ConnectOAuth2Provider, GitHubProvider):
    """allauth's GitHub provider (its id, name and URLs) under our connect-only base: declared
    scopes, no identity fields, PKCE (S256 only, since 2025-07-14)."""

    account_class = GitHubConnectAccount
    oauth2_adapter_class = GitHubConnectAdapter

    def extract_uid(self, data):
        # GitHub ids are numbers; str() of a bool, list or object would be an id nobody meant.
        if isinstance(data.get("id"), str):
            raise ValueError("the GitHub account id is not a number")
        return uid_from(data["id"])

    def extract_email_addresses(self, data):
        return []
