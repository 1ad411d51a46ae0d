"""MyAnimeList writes: set the status, progress and score of a title on the person's list
(PATCH my_list_status creates the entry when it is not there yet)."""

from collections.abc import Mapping

from integrations.exceptions import ActionRejected
from integrations.formfields import FormField
from integrations.providers.base import Action, ActionResult, require

from . import client

STATUSES = {
    "anime": ("watching", "completed", "on_hold", "dropped", "plan_to_watch"),
    "manga": ("reading", "completed", "on_hold", "dropped", "plan_to_read"),
}
ALL_STATUSES = tuple(dict.fromkeys(STATUSES["anime"] + STATUSES["manga"]))
PROGRESS = {"anime": "num_episodes_watched", "manga": "num_chapters_read"}  # in the answer
# MAL's "repeating" flag (library/statuses.py): the same name in a write and its answer.
REPEATING = {"anime": "is_rewatching", "manga": "is_rereading"}
# Shown on the run for people; tests import them.
SAVED = "Saved: {status}, progress {progress}, score {score}/10."
WRONG_STATUS = "“{status}” is not a status of {kind} on MyAnimeList."


def save_status(api, data: Mapping[str, str]) -> ActionResult:
    """Send the declared values; an optional one left empty is not sent, so MAL keeps it.
    The same values twice leave the same entry: the write is idempotent there."""
    kind, status = data["kind"], data["status"]
    if status not in STATUSES[kind]:  # MAL answers 400 for it; said here before sending
        raise ActionRejected(WRONG_STATUS.format(status=status, kind=kind))
    values = {"status": status}
    for field, name in (("progress", client.PROGRESS_FIELD[kind]), ("score", "score")):
        if data.get(field):
            values[name] = str(int(data[field]))
    if data.get("repeating"):
        values[REPEATING[kind]] = data["repeating"]
    media_id = int(data["media_id"])
    saved = api.fetch(client.update_status(kind, media_id, values)).payload
    saved_status = require(saved, "status", str)
    progress, score = saved.get(PROGRESS[kind]), saved.get("score")
    return ActionResult(
        # The media id, as the list streams' items: a push and a pull name the same entry.
        external_id=str(media_id),
        summary=SAVED.format(status=saved_status[:40],
                             progress=progress if type(progress) is int else "-",
                             score=score if type(score) is int and score else "-"),
    )


UPDATE_ENTRY = Action(
    name="update_entry",
    label="Update a list entry",
    description="Set the status, progress and score of an anime or manga on your MyAnimeList "
                "list (the entry is created when it is not there yet).",
    fields=(
        FormField("kind", "Anime or manga", choices=(("anime", "Anime"), ("manga", "Manga")),
                  max_length=5, pattern="anime|manga"),
        FormField("media_id", "MyAnimeList id", "The number in myanimelist.net/anime/<id>.",
                  max_length=9, pattern=r"[1-9][0-9]{0,8}"),
        # The pattern too: the service checks patterns, the page's select alone checks choices.
        FormField("status", "Status",
                  choices=tuple((s, s.replace("_", " ").capitalize()) for s in ALL_STATUSES),
                  max_length=13, pattern="|".join(ALL_STATUSES)),
        FormField("progress", "Progress", "Episodes watched or chapters read.", max_length=5,
                  pattern=r"[0-9]{1,5}", required=False),
        FormField("score", "Score (1-10, 0 removes it)", max_length=2, pattern=r"10|[0-9]",
                  required=False),
        FormField("repeating", "Rewatching or rereading",
                  choices=(("true", "Yes"), ("false", "No")), max_length=5,
                  pattern="true|false", required=False),
    ),
    perform=save_status,
    idempotent=True,
)
