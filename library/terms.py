"""Each list service's own terms: its values of a linked item, and the library's converted.

The merge compares in the service's terms (library/merge.py says why), so every value here is
what the service holds: its status (with its repeating flag, as ``watching+repeating``), its
progress, its score on its own scale (None for unrated). A value the service does not promise
raises ``ProviderDataError``: the item is skipped, never half-merged.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.exceptions import ProviderDataError
from library import scores, statuses

FIELDS = ("status", "progress", "score")
REPEATING_MARK = "+repeating"
MAX_PROGRESS = 2**31 - 1
NOT_A_STATUS = "the list status is not text"
NOT_A_COUNT = "progress is not a count"


@dataclass(frozen=True)
class Terms:
    service: str
    scale: scores.Scale
    # What an update_entry action calls the score (Kitsu: its ratingTwenty, "rating").
    score_field: str = "score"

    def read(self, attrs: Mapping[str, Any], *, kind: str) -> dict[str, Any]:
        """The service's values of an item, checked (each must convert to the library's)."""
        status = attrs.get("status")
        if not isinstance(status, str):
            raise ProviderDataError(NOT_A_STATUS)
        repeating = self.service != statuses.ANILIST and attrs.get("repeating") is True
        key = status + REPEATING_MARK if repeating else status
        self.status_in(key, kind=kind)  # raises for a status the service does not have
        progress = attrs.get("progress")
        if progress is not None and (isinstance(progress, bool) or not isinstance(progress, int)
                                     or not 0 <= progress <= MAX_PROGRESS):
            raise ProviderDataError(NOT_A_COUNT)
        score = attrs.get("score")
        # The service's own "no score" (0) reads as None, as in the library.
        score = score if self.scale.to_internal(score) is not None else None
        return {"status": key, "progress": progress, "score": score}

    def status_in(self, key: str, *, kind: str) -> str:
        native, marked, _ = key.partition(REPEATING_MARK)
        return statuses.status_from_service(self.service, native, kind=kind,
                                            repeating=bool(marked))

    def status_out(self, status: str, *, kind: str) -> str:
        sent = statuses.status_to_service(self.service, status, kind=kind)
        return sent.status + REPEATING_MARK if sent.repeating else sent.status

    def to_library(self, field: str, value: Any, *, kind: str) -> Any:
        if field == "status":
            return self.status_in(value, kind=kind)
        if field == "score":
            return self.scale.to_internal(value)
        return value

    def to_service(self, field: str, value: Any, *, kind: str) -> Any:
        if field == "status":
            return self.status_out(value, kind=kind)
        if field == "score":
            return self.scale.from_internal(value)
        return value

    def attrs_after_push(self, attrs: Mapping[str, Any], values: Mapping[str, Any]
                         ) -> dict[str, Any]:
        """The item's attributes once the service holds ``values`` (service terms)."""
        updated = dict(attrs)
        for field, value in values.items():
            if field == "status":
                native, marked, _ = value.partition(REPEATING_MARK)
                updated["status"], updated["repeating"] = native, bool(marked)
            else:
                updated[field] = value
        return updated

    def action_input(self, values: Mapping[str, Any], *, kind: str, media_id: str,
                     entry_id: str | None) -> dict[str, str]:
        """The update_entry action's input for ``values`` (service terms; status always)."""
        native, marked, _ = values["status"].partition(REPEATING_MARK)
        data = {"status": native}
        if self.service == statuses.KITSU:
            data["entry_id"] = entry_id or ""
        else:
            data["media_id"] = media_id
        if self.service == statuses.MYANIMELIST:
            data["kind"] = kind
        if self.service != statuses.ANILIST:
            data["repeating"] = "true" if marked else "false"
        if values.get("progress") is not None:
            data["progress"] = str(values["progress"])
        if "score" in values:
            score = values["score"]
            # Every scale used here is whole numbers; 0 clears a score on all three (Kitsu's
            # action sends it as a null ratingTwenty).
            data[self.score_field] = str(int(score)) if score is not None else "0"
        return data

    @staticmethod
    def sent(values: Mapping[str, Any]) -> dict[str, Any]:
        """The part of ``values`` a write carries (``action_input``): an empty progress is
        not sent, so the service keeps its own and the base must too."""
        return {name: value for name, value in values.items()
                if name in FIELDS and (value is not None or name != "progress")}


TERMS = {
    # The AniList mapping reads scores as POINT_100 whatever the person's format, and the
    # action writes scoreRaw (POINT_100) too.
    statuses.ANILIST: Terms(statuses.ANILIST, scores.ANILIST["POINT_100"]),
    statuses.MYANIMELIST: Terms(statuses.MYANIMELIST, scores.MYANIMELIST),
    statuses.KITSU: Terms(statuses.KITSU, scores.KITSU, score_field="rating"),
}
