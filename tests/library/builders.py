"""Imported list items and linked library entries for the library's page and link tests."""

from integrations.models import ExternalItem
from library.pull import library_pull_merge
from tests.factories import make_connection, make_user

MAY_1 = 1714550400  # 2024-05-01T08:00:00Z
LIST_SERVICES = ("anilist", "myanimelist", "kitsu")


def list_item(connection, external_id, *, kind="anime", **attrs):
    """An imported entry of a list service, shaped as its mapping stores it."""
    values = {"entry_id": None, "status": "", "progress": None, "score": None,
              "updated_at": MAY_1, "mal_id": None, "titles": {}, "genres": []}
    return ExternalItem.objects.create(
        connection=connection, kind=kind, external_id=external_id, title=f"title {external_id}",
        content_hash="h", attrs=values | attrs,
    )


def list_person(email="ada@example.com"):
    """A person with AniList, MyAnimeList and Kitsu connected: {"user", provider: connection}."""
    user = make_user(email)
    name = email.split("@")[0]
    return {"user": user, **{provider: make_connection(user, provider,
                                                       external_id=f"{name}-{provider}")
                             for provider in LIST_SERVICES}}


def linked_entry(connection, external_id, **attrs):
    """Import one item and link it as a pull does: the library entry it made or joined."""
    item = list_item(connection, external_id, **attrs)
    library_pull_merge(connection=connection)
    item.refresh_from_db()
    return item.library_entry
