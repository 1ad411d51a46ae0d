"""library/statuses.py: every status of every service both ways, and the repeating rule."""

import pytest

from integrations.exceptions import ProviderDataError
from library.models import LibraryEntry
from library.statuses import (
    ANILIST,
    KITSU,
    MYANIMELIST,
    STATUSES,
    ServiceStatus,
    status_from_service,
    status_to_service,
)

# (service, kind, library status, the service's status, the service's repeating flag)
PAIRS = [
    (ANILIST, kind, ours, ours.upper(), False) for kind in ("anime", "manga") for ours in STATUSES
] + [
    (MYANIMELIST, "anime", "current", "watching", False),
    (MYANIMELIST, "anime", "planning", "plan_to_watch", False),
    (MYANIMELIST, "anime", "completed", "completed", False),
    (MYANIMELIST, "anime", "paused", "on_hold", False),
    (MYANIMELIST, "anime", "dropped", "dropped", False),
    (MYANIMELIST, "anime", "repeating", "watching", True),
    (MYANIMELIST, "manga", "current", "reading", False),
    (MYANIMELIST, "manga", "planning", "plan_to_read", False),
    (MYANIMELIST, "manga", "completed", "completed", False),
    (MYANIMELIST, "manga", "paused", "on_hold", False),
    (MYANIMELIST, "manga", "dropped", "dropped", False),
    (MYANIMELIST, "manga", "repeating", "reading", True),
] + [
    (KITSU, kind, ours, theirs, ours == "repeating")
    for kind in ("anime", "manga")
    for ours, theirs in [("current", "current"), ("planning", "planned"),
                         ("completed", "completed"), ("paused", "on_hold"),
                         ("dropped", "dropped"), ("repeating", "current")]
]


def test_the_model_has_the_same_six_statuses():
    assert set(LibraryEntry.Status.values) == set(STATUSES)


@pytest.mark.parametrize(("service", "kind", "ours", "theirs", "flag"), PAIRS)
def test_push(service, kind, ours, theirs, flag):
    assert status_to_service(service, ours, kind=kind) == ServiceStatus(theirs, flag)


@pytest.mark.parametrize(("service", "kind", "ours", "theirs", "flag"), PAIRS)
def test_pull(service, kind, ours, theirs, flag):
    assert status_from_service(service, theirs, kind=kind, repeating=flag) == ours


@pytest.mark.parametrize("service", [MYANIMELIST, KITSU])
def test_every_library_status_comes_back_from_what_was_pushed(service):
    for kind in ("anime", "manga"):
        for ours in STATUSES:
            sent = status_to_service(service, ours, kind=kind)
            assert status_from_service(service, sent.status, kind=kind,
                                       repeating=sent.repeating) == ours


@pytest.mark.parametrize(
    ("service", "kind", "theirs", "ours"),
    [
        # MyAnimeList's own site keeps a rewatch under "completed" with the flag set.
        (MYANIMELIST, "anime", "completed", "repeating"),
        (MYANIMELIST, "manga", "completed", "repeating"),
        (KITSU, "anime", "completed", "repeating"),
        # On any other status the flag is ignored: the status stands.
        (MYANIMELIST, "anime", "plan_to_watch", "planning"),
        (MYANIMELIST, "anime", "on_hold", "paused"),
        (KITSU, "manga", "dropped", "dropped"),
        (KITSU, "anime", "planned", "planning"),
        # AniList has REPEATING itself: a flag means nothing there.
        (ANILIST, "anime", "CURRENT", "current"),
    ],
)
def test_the_repeating_flag_on_pull(service, kind, theirs, ours):
    assert status_from_service(service, theirs, kind=kind, repeating=True) == ours


@pytest.mark.parametrize(
    ("service", "kind", "theirs"),
    [
        (MYANIMELIST, "manga", "watching"),  # an anime status on a manga list
        (MYANIMELIST, "anime", "plan_to_read"),
        (MYANIMELIST, "anime", "rewatching"),
        (ANILIST, "anime", "current"),  # AniList's are upper case
        (ANILIST, "anime", "REWATCHING"),
        (KITSU, "anime", "planning"),
        (KITSU, "anime", ""),
        (KITSU, "anime", None),
        (KITSU, "anime", ["current"]),
        (MYANIMELIST, "anime", "x" * 10_000),
    ],
)
def test_unknown_service_statuses_are_provider_data_errors(service, kind, theirs):
    with pytest.raises(ProviderDataError, match=f"{service} has no {kind} list status") as err:
        status_from_service(service, theirs, kind=kind)
    assert len(err.value.message) < 120  # a hostile value is cut, not echoed whole


@pytest.mark.parametrize(
    "call",
    [
        lambda: status_to_service(KITSU, "watching", kind="anime"),
        lambda: status_to_service(KITSU, "current", kind="novel"),
        lambda: status_to_service("simkl", "current", kind="anime"),
        lambda: status_from_service("simkl", "current", kind="anime"),
    ],
)
def test_our_own_unknowns_are_bugs(call):
    with pytest.raises(ValueError, match="no "):
        call()
