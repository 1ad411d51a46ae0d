"""SendGrid: daily email statistics for the person's own dashboard (business data, never
matching), read with an API key holding stats.read."""

import re

from consent.purposes import DASHBOARD
from integrations.auth import Bearer
from integrations.cursors import IsoTimeCursor
from integrations.exceptions import ConnectionTestFailed
from integrations.formfields import FormField
from integrations.pagination import DateRangePaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require, string_list
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from . import client, mapping

# SG.<key id>.<secret>: the key id is what SendGrid lists on its API Keys page and in
# /v3/api_keys; only the last part is secret.
KEY = re.compile(r"SG\.([A-Za-z0-9_-]{16,64})\.[A-Za-z0-9_-]{16,128}")
MISSING_SCOPE = ("This SendGrid API key lacks the {scope} permission. Give it Stats read "
                 "access (Settings, API Keys, Restricted Access) and try again. Nothing was "
                 "saved.")
KEY_LABEL = "API key {key_id}..."


def key_account(token: str) -> AccountInfo:
    """The key's id as the account: /v3/user/account would need user.account.read, which a
    stats dashboard has no other use for. A new key connects as a new account."""
    match = KEY.fullmatch(token)
    if match is None:  # the form's pattern already refused it; never show what was typed
        raise ConnectionTestFailed("That is not a SendGrid API key (SG.xxx.yyy).")
    key_id = match.group(1)
    return AccountInfo(external_id=key_id, label=KEY_LABEL.format(key_id=key_id[:8]))


DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
EPOCH = r"[0-9]{1,12}"
# https://www.twilio.com/docs/sendgrid/api-reference/stats/retrieve-global-email-statistics
# and .../bounces-api/retrieve-all-bounces
PROXY = ProxySpec(
    endpoints=(
        ProxyEndpoint("/v3/stats", "Email statistics", params=(
            FormField("start_date", "First day (YYYY-MM-DD)", pattern=DAY, max_length=10),
            FormField("end_date", "Last day (YYYY-MM-DD)", pattern=DAY, max_length=10,
                      required=False),
            FormField("aggregated_by", "Per", choices=(("day", "Day"), ("week", "Week"),
                                                       ("month", "Month")), required=False),
            FormField("limit", "How many", pattern=r"[0-9]{1,3}", max_length=3, required=False),
            FormField("offset", "Skip", pattern=r"[0-9]{1,6}", max_length=6, required=False),
        ), time_field="date"),
        ProxyEndpoint("/v3/suppression/bounces", "Bounces", params=(
            FormField("start_time", "From (Unix time)", pattern=EPOCH, max_length=12,
                      required=False),
            FormField("end_time", "Until (Unix time)", pattern=EPOCH, max_length=12,
                      required=False),
            FormField("limit", "How many", pattern=r"[0-9]{1,3}", max_length=3, required=False),
            FormField("offset", "Skip", pattern=r"[0-9]{1,6}", max_length=6, required=False),
        ), time_field="created"),
    ),
    ttl_seconds=300,
    requests_per_minute=50,
)


class SendGridProvider(Provider):
    slug = "sendgrid"
    name = "SendGrid"
    description = ("Daily email statistics (delivered, opens, clicks, bounces) from SendGrid, "
                   "for your dashboard. Business data is never used for matching.")
    icon = "SG"
    category = "business"
    auth = Bearer(
        label="API key",
        help_text="A restricted key with Stats read access, from SendGrid: Settings, API Keys. "
                  "It starts with SG.",
        pattern=KEY.pattern,
    )
    api_base_url = "https://api.sendgrid.com/"
    stand_in = True
    stand_in_example = "SG.demo-key-id-0001.demo-key-secret-0000000001"
    # Unpublished; a budget is kept so that X-RateLimit-Remaining: 0 holds every worker until
    # X-RateLimit-Reset (a 429 waits for it too: classify.default).
    rate_limit = (10, 1.0)
    revoke_help = "Delete the key in SendGrid (Settings, API Keys) to revoke it."
    proxy = PROXY
    streams = (
        Stream(
            name="stats", label="Email statistics", kind="daily_stats", purposes=(DASHBOARD,),
            path=client.STATS, params={"aggregated_by": "day"},
            # 90 days back on a full pass; an incremental pass starts at the newest day held,
            # so a day still counting (today) is read again.
            paginator=DateRangePaginator(window_days=30, windows=3),
            map_record=mapping.map_daily_stats,
            incremental=True, cursor=IsoTimeCursor("date"), since_param="start_date",
        ),
    )

    def test_credentials(self, client_, fields) -> AccountInfo:
        account = key_account(fields.get("token", ""))
        scopes = client_.get_json(client.SCOPES)
        require(scopes, "scopes", list)
        if client.REQUIRED_SCOPE not in string_list(scopes, "scopes"):
            raise ConnectionTestFailed(MISSING_SCOPE.format(scope=client.REQUIRED_SCOPE))
        return account

    def test_connection(self, client_, connection) -> AccountInfo:
        return self.test_credentials(client_, client_.secrets)
