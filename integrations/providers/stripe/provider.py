"""Stripe: charges and customers for the person's own dashboard (business data, never
matching), read with a restricted API key."""

import hashlib

from consent.purposes import DASHBOARD
from integrations.auth import Bearer
from integrations.cursors import EpochCursor
from integrations.exceptions import ConnectionTestFailed, ReauthRequired
from integrations.formfields import FormField
from integrations.pagination import CursorParamPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from . import client, errors, mapping

KEY_PATTERN = r"(rk|sk)_(test|live)_[0-9A-Za-z]{10,240}"
MODE_LABEL = {True: "Stripe (live mode)", False: "Stripe (test mode)"}


def _stream(name: str, label: str, kind: str, path: str, map_record) -> Stream:
    return Stream(
        name=name, label=label, kind=kind, purposes=(DASHBOARD,), path=path,
        paginator=CursorParamPaginator(limit=client.PAGE_SIZE), map_record=map_record,
        incremental=True, cursor=EpochCursor("created"), since_param="created[gte]",
    )


def account_id(livemode: bool, key: str) -> str:
    """A stable id for the account behind ``key``, without the key.

    /v1/balance names no account, and /v1/account needs a permission a dashboard has no other
    use for (restricted keys should hold as few as possible), so the id is the mode plus a
    SHA-256 fingerprint of the key. Keys are long random strings: the fingerprint does not
    reveal the key. A rolled key is a new fingerprint, so it connects as a new account.
    """
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{'live' if livemode else 'test'}_{fingerprint}"


def _param(name: str, label: str, pattern: str, max_length: int = 100) -> FormField:
    return FormField(name, label, required=False, pattern=pattern, max_length=max_length)


# https://docs.stripe.com/api/pagination and each list's filters.
STRIPE_ID = r"[A-Za-z0-9_]{1,100}"
EPOCH = r"[0-9]{1,12}"
PAGING = (
    _param("limit", "How many (1 to 100)", r"[1-9][0-9]?|100", 3),
    _param("starting_after", "After this id", STRIPE_ID),
    _param("ending_before", "Before this id", STRIPE_ID),
)
CREATED = (_param("created[gte]", "Created at or after (Unix time)", EPOCH, 12),
           _param("created[lte]", "Created at or before (Unix time)", EPOCH, 12))
CUSTOMER = _param("customer", "Customer id", STRIPE_ID)


def _listing(path: str, label: str, *params: FormField) -> ProxyEndpoint:
    return ProxyEndpoint(path, label, params=(*PAGING, *CREATED, *params), records_path="data",
                         time_field="created")


PROXY = ProxySpec(
    base_path="/v1",  # the API base already ends in /v1/
    endpoints=(
        _listing("/v1/charges", "Charges", CUSTOMER),
        _listing("/v1/customers", "Customers", _param("email", "Email", r"[^\s]{1,200}", 200)),
        _listing("/v1/subscriptions", "Subscriptions", CUSTOMER, _param(
            "status", "Status", r"active|past_due|unpaid|canceled|incomplete|"
            r"incomplete_expired|trialing|paused|all", 20)),
        ProxyEndpoint("/v1/balance", "Balance"),
    ),
    ttl_seconds=60,
    requests_per_minute=100,
)


class StripeProvider(Provider):
    slug = "stripe"
    name = "Stripe"
    description = ("Charges and customers from your Stripe account, for your dashboard. "
                   "Business data is never used for matching.")
    icon = "ST"
    category = "business"
    auth = Bearer(
        label="Restricted API key",
        help_text="A restricted key (rk_live_... or rk_test_...) with read access to Balance, "
                  "Charges and Customers, from the Stripe Dashboard: Developers, API keys.",
        pattern=KEY_PATTERN,
    )
    api_base_url = "https://api.stripe.com/v1/"
    stand_in = True
    stand_in_example = "rk_test_DemoKey0123456789"
    rate_limit = (25, 1.0)  # 25 requests/s: the per-endpoint default and the sandbox's limit
    revoke_help = "Stripe has no API to revoke a key: roll or delete it in the Stripe Dashboard."
    proxy = PROXY
    streams = (
        _stream("charges", "Charges", "charge", client.CHARGES, mapping.map_charge),
        _stream("customers", "Customers", "customer", client.CUSTOMERS, mapping.map_customer),
    )

    def default_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Stripe-Version": client.API_VERSION}

    def classify_response(self, response):
        return errors.classify_response(response)

    def refusal_message(self, response) -> str:
        return errors.refusal_message(response)

    def test_credentials(self, client_, fields) -> AccountInfo:
        try:
            balance = client_.get_json(client.BALANCE)
        except ReauthRequired as exc:  # its message names the missing permission
            raise ConnectionTestFailed(exc.message) from None
        livemode = require(balance, "livemode", bool)
        return AccountInfo(external_id=account_id(livemode, fields.get("token", "")),
                           label=MODE_LABEL[livemode])

    def test_connection(self, client_, connection) -> AccountInfo:
        return self.test_credentials(client_, client_.secrets)
