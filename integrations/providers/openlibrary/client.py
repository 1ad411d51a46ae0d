"""Open Library endpoints used here (paths relative to https://openlibrary.org/)."""

from integrations.providers.base import MappedItem

# https://openlibrary.org/dev/docs/api/mybooks  (reading log; private by default)
READING_LOG = "people/{username}/books/{shelf}.json"
SHELVES = ("want-to-read", "currently-reading", "already-read")
# https://openlibrary.org/dev/docs/api/books  (works: subjects)
WORK = "works/{work_id}.json"


def add_subjects(client, item: MappedItem) -> MappedItem:
    """Fetch the work's subjects; only called for new or changed items."""
    from .mapping import subjects_of

    work = client.get_json(WORK.format(work_id=item.external_id))
    return MappedItem(item.external_id, item.title, {**item.attrs, "subjects": subjects_of(work)})
