"""The site a connection reads: its ``site_id``, the domain as configured in Plausible. A plain
setting, kept in Connection.config; the proxy adds it to every request (provider.proxy_params),
so a caller of the proxy never chooses which site is read."""

import re
from collections.abc import Mapping

from integrations.exceptions import ConnectionTestFailed
from integrations.formfields import FormField

# Messages people see; tests import them.
BAD_SITE_ID = ("Enter the site's domain as Plausible lists it, such as example.com: letters, "
               "digits, dots, dashes, and no spaces.")

# Plausible's own rule for a site's domain (Plausible.Site changeset): letters of any script,
# digits, "-", ".", "/" and ":"; no underscore, no space. It goes in a query parameter only.
# An address typed in full (https://example.com/) matches too: cleaning makes it the domain.
MAX_SITE_ID = 253
SITE_ID = r"[^\W_](?:[^\W_]|[-.:/])*"

SITE_ID_FIELD = FormField(
    "site_id", "Site ID",
    "The site's domain as Plausible lists it (Site Settings), such as example.com.",
    max_length=MAX_SITE_ID + len("https:///"), pattern=SITE_ID)


def clean_site_id(value: str) -> str:
    """The domain alone: lower case, without a scheme or trailing slash (as Plausible stores
    it); refused unless it is a domain Plausible could hold."""
    site = (value or "").strip().lower()
    site = re.sub(r"^https?://", "", site).rstrip("/")
    if len(site) > MAX_SITE_ID or not re.fullmatch(SITE_ID, site):
        raise ConnectionTestFailed(BAD_SITE_ID)
    return site


def site_of(config: Mapping[str, object]) -> str:
    """The connection's site; "" for a row without one (Plausible then answers 400)."""
    site = (config or {}).get("site_id")
    return site if isinstance(site, str) else ""
