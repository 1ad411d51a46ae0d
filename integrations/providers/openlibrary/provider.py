"""Open Library: a public reading log, by username. Work subjects become book interests."""

import re
from typing import Any

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import Username
from integrations.exceptions import ConnectionTestFailed, ProviderDataError
from integrations.pagination import PageNumberPaginator
from integrations.providers.base import AccountInfo, Provider, Stream

from . import client, mapping

USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,80}")
NOT_PUBLIC = (
    "Open Library says: {error}. Check the username, and make the reading log public "
    "(Open Library settings, 'Reading log privacy')."
)


class OpenLibraryProvider(Provider):
    slug = "openlibrary"
    name = "Open Library"
    description = "The books on your public Open Library reading log; their subjects become " \
                  "book interests."
    icon = "OL"
    category = "books"
    auth = Username(
        label="Open Library username",
        help_text="As in openlibrary.org/people/<username>. The reading log must be public.",
        pattern=USERNAME.pattern,
    )
    api_base_url = "https://openlibrary.org/"
    rate_limit = (3, 1.0)  # unpublished; about 3 requests/s is what third parties report
    streams = (
        Stream(
            name="reading_log",
            label="Reading log",
            kind="work",
            purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
            path=client.READING_LOG,
            segments=tuple({"shelf": shelf} for shelf in client.SHELVES),
            paginator=PageNumberPaginator(items_key="reading_log_entries", limit=100),
            map_record=mapping.map_reading_log_entry,
            interests=mapping.subject_interests,
            enrich=client.add_subjects,
        ),
    )

    def connection_params(self, connection) -> dict[str, str]:
        return {"username": connection.external_account_id}

    def check_payload(self, payload: Any) -> None:
        # A private or unknown reading log answers 200 with {"error": "..."}.
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            raise ProviderDataError(NOT_PUBLIC.format(error=payload["error"][:200]),
                                    code="not_public")

    def test_credentials(self, client_, fields) -> AccountInfo:
        username = (fields.get("username") or "").strip()
        if not USERNAME.fullmatch(username):
            raise ConnectionTestFailed("That is not a valid Open Library username.")
        try:
            client_.get_json(client.READING_LOG.format(username=username, shelf="want-to-read"),
                             {"limit": 1})
        except ProviderDataError as exc:
            raise ConnectionTestFailed(exc.message) from None
        return AccountInfo(external_id=username, label=username)

    def test_connection(self, client_, connection) -> AccountInfo:
        return self.test_credentials(client_, {"username": connection.external_account_id})
