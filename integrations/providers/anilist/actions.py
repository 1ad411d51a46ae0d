"""AniList writes: create or update an entry of the person's list (SaveMediaListEntry)."""

from collections.abc import Mapping

from integrations.exceptions import ProviderDataError
from integrations.formfields import FormField
from integrations.providers.base import Action, ActionResult, require

from . import client

STATUSES = ("CURRENT", "PLANNING", "COMPLETED", "DROPPED", "PAUSED", "REPEATING")
# Shown on the run for people; tests import them.
SAVED = "Saved: {status}, progress {progress}, score {score}/100 (entry {entry})."
OTHER_MEDIA = "AniList saved an entry for another title than the one asked for."


def save_entry(api, data: Mapping[str, str]) -> ActionResult:
    """Send the declared values; an optional one left empty is not sent, so AniList keeps it.
    The same values twice leave the same entry: the write is idempotent there."""
    variables = {"mediaId": int(data["media_id"]), "status": data["status"]}
    for field, name in (("progress", "progress"), ("score", "scoreRaw")):
        if data.get(field):
            variables[name] = int(data[field])
    saved = client.data_of(api.fetch(client.graphql(client.SAVE_ENTRY, **variables)).payload,
                           "SaveMediaListEntry")
    if require(saved, "mediaId", int) != variables["mediaId"]:
        raise ProviderDataError(OTHER_MEDIA)
    entry = require(saved, "id", int)
    progress, score = saved.get("progress"), saved.get("score")
    return ActionResult(
        # The media id, as the list streams' items: a push and a pull name the same entry.
        external_id=str(variables["mediaId"]),
        summary=SAVED.format(status=data["status"], entry=entry,
                             progress=progress if isinstance(progress, int) else "-",
                             score=score if isinstance(score, int | float) else "-"),
    )


UPDATE_ENTRY = Action(
    name="update_entry",
    label="Update a list entry",
    description="Set the status, progress and score of an anime or manga on your AniList list "
                "(the entry is created when it is not there yet).",
    fields=(
        # AniList ids are GraphQL Ints (32 bits): nine digits at most.
        FormField("media_id", "AniList media id", "The number in anilist.co/anime/<id>.",
                  max_length=9, pattern=r"[1-9][0-9]{0,8}"),
        # The pattern too: the service checks patterns, the page's select alone checks choices.
        FormField("status", "Status", choices=tuple((s, s.title()) for s in STATUSES),
                  max_length=10, pattern="|".join(STATUSES)),
        FormField("progress", "Progress", "Episodes or chapters.", max_length=5,
                  pattern=r"[0-9]{1,5}", required=False),
        FormField("score", "Score (0-100)", max_length=3, pattern=r"100|[1-9]?[0-9]",
                  required=False),
    ),
    perform=save_entry,
    idempotent=True,
)
