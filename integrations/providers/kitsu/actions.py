"""Kitsu writes: set the status, progress and rating of an existing library entry (a JSON:API
PATCH of the entry, which sets values: the same values twice leave the same entry)."""

from collections.abc import Mapping

from integrations.exceptions import ProviderDataError
from integrations.formfields import FormField
from integrations.providers.base import Action, ActionResult, require
from integrations.wire import ApiRequest

from . import client

STATUSES = ("current", "planned", "completed", "on_hold", "dropped")
STATUS_LABELS = {"current": "Current", "planned": "Planned", "completed": "Completed",
                 "on_hold": "On hold", "dropped": "Dropped"}
# Shown on the run for people; tests import them.
SAVED = "Saved: {status}, progress {progress}, rating {rating}/20 (entry {entry})."
OTHER_ENTRY = "Kitsu answered for another library entry than the one asked for."


def entry_body(data: Mapping[str, str]) -> dict:
    """The JSON:API document of the PATCH: only the values given (an optional one left empty
    is not sent, so Kitsu keeps it)."""
    attributes: dict = {"status": data["status"]}
    if data.get("progress"):
        attributes["progress"] = int(data["progress"])
    if data.get("rating"):
        # 0 removes the rating: Kitsu's "not rated" is a null ratingTwenty.
        attributes["ratingTwenty"] = int(data["rating"]) or None
    if data.get("repeating"):
        attributes["reconsuming"] = data["repeating"] == "true"
    return {"data": {"id": data["entry_id"], "type": "libraryEntries",
                     "attributes": attributes}}


def update_entry(api, data: Mapping[str, str]) -> ActionResult:
    request = ApiRequest(f"{client.LIBRARY_ENTRIES}/{data['entry_id']}", method="PATCH",
                         json=entry_body(data))
    saved = require(api.fetch(request).payload, "data", dict)
    if require(saved, "id", str) != data["entry_id"]:
        raise ProviderDataError(OTHER_ENTRY)
    attributes = saved.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    progress, rating = attributes.get("progress"), attributes.get("ratingTwenty")
    media = client.related(saved, "anime") or client.related(saved, "manga")
    media_id = media.get("id") if isinstance(media, dict) else None
    return ActionResult(
        # The media id where Kitsu says it, as the list streams' items: a push and a pull
        # then name the same title.
        external_id=media_id if isinstance(media_id, str) else "",
        summary=SAVED.format(status=STATUS_LABELS[data["status"]], entry=data["entry_id"],
                             progress=progress if isinstance(progress, int) else "-",
                             rating=rating if isinstance(rating, int) else "-"),
    )


UPDATE_ENTRY = Action(
    name="update_entry",
    label="Update a library entry",
    description="Set the status, progress and rating of an anime or manga already in your "
                "Kitsu library.",
    fields=(
        FormField("entry_id", "Kitsu library entry id", "The entry's number in Kitsu's API.",
                  max_length=12, pattern=r"[1-9][0-9]{0,11}"),
        # The pattern too: the service checks patterns, the page's select alone checks choices.
        FormField("status", "Status", choices=tuple(STATUS_LABELS.items()), max_length=9,
                  pattern="|".join(STATUSES)),
        FormField("progress", "Progress", "Episodes or chapters.", max_length=5,
                  pattern=r"[0-9]{1,5}", required=False),
        FormField("rating", "Rating (2-20, 0 removes it)",
                  "Kitsu's ratingTwenty: twice a 1-10 score.",
                  max_length=2, pattern=r"0|[2-9]|1[0-9]|20", required=False),
        FormField("repeating", "Rewatching or rereading",
                  choices=(("true", "Yes"), ("false", "No")), max_length=5,
                  pattern="true|false", required=False),
    ),
    perform=update_entry,
    idempotent=True,
)
