"""Plausible Analytics (Stats API v1): a site's visitors, pageviews, sources and pages for the
person's dashboard, read through the proxy with an API key. Nothing is synced or stored.

Only plausible.io is supported: a self-hosted instance would need its address typed by the
person, which the user-given base URL checks (integrations/outbound.py) would have to guard.
"""

from collections.abc import Mapping

from integrations.auth import Bearer
from integrations.exceptions import ConnectionTestFailed, ProviderDataError
from integrations.providers.base import AccountInfo, Provider
from integrations.redaction import redact_text

from . import client, errors, mapping, proxy, site

# Plausible makes keys of 64 URL-safe base64 characters (Plausible.Auth.ApiKey).
KEY_PATTERN = r"[A-Za-z0-9_-]{32,128}"
# A refused query's message (Plausible names the parameter) is worth showing at connect.
QUERY_REFUSED_AT_CONNECT = "{reason} Nothing was saved."


class PlausibleProvider(Provider):
    slug = "plausible"
    name = "Plausible Analytics"
    description = ("Visitors, pageviews, top sources and pages of one of your sites from "
                   "Plausible, on your dashboard. Read when shown, never stored.")
    icon = "PA"
    category = "analytics"
    auth = Bearer(
        label="API key",
        help_text="From Plausible: Settings, API Keys (a Stats API key).",
        pattern=KEY_PATTERN,
    )
    form_fields = (site.SITE_ID_FIELD,)
    api_base_url = "https://plausible.io/"
    stand_in = True
    stand_in_example = "PlausibleDemoKey-00000000000000000000000000000000000000000000001"
    # 600 requests an hour per API key (the Stats API's default): each connection is the
    # person's own key, so the budget is the connection's.
    rate_limit = (600, 3600.0)
    rate_limit_per_connection = True
    revoke_help = "Delete the key in Plausible (Settings, API Keys) to revoke it."
    proxy = proxy.PROXY

    def classify_response(self, response):
        return errors.classify_response(response)

    def refusal_message(self, response) -> str:
        return errors.refusal_message(response)

    def check_payload(self, payload) -> None:
        errors.check_payload(payload)

    def clean_connect_fields(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {**fields, "site_id": site.clean_site_id(fields.get("site_id", ""))}

    def proxy_params(self, connection) -> dict[str, str]:
        return {"site_id": site.site_of(connection.config)}

    def test_credentials(self, client_, fields) -> AccountInfo:
        try:
            return site_account(client_, fields.get("site_id", ""))
        except ProviderDataError as refused:
            # Plausible's words quote parameters, not the key; that is checked, not trusted.
            reason = redact_text(refused.message, client_.secrets.values())
            raise ConnectionTestFailed(QUERY_REFUSED_AT_CONNECT.format(reason=reason)) from None

    def test_connection(self, client_, connection) -> AccountInfo:
        return site_account(client_, site.site_of(connection.config))


def site_account(client_, site_id: str) -> AccountInfo:
    """Today's visitors of the site: a read that needs the key and its access to the site. The
    site is the account, so each site a person reads is its own connection."""
    mapping.visitors_of(client_.get_json(client.AGGREGATE,
                                         {"site_id": site_id, **client.TEST_QUERY}))
    return AccountInfo(external_id=site_id, label=site_id)
