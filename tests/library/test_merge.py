"""library/merge.py: the conflict matrix, table-driven, and the rule's properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from library.merge import (
    ENTRY,
    FIELDS,
    LOCAL,
    REMOTE,
    REMOVED,
    Conflict,
    Outcome,
    Side,
    merge_entry,
    merge_field,
)
from library.models import LibraryConflict
from library.scores import MYANIMELIST

SYNCED_AT = datetime(2026, 11, 1, tzinfo=UTC)
EARLY, LATE = SYNCED_AT + timedelta(hours=1), SYNCED_AT + timedelta(hours=2)

# (case, synced, local, remote, expected value, push, apply, conflict winner or None)
MATRIX = [
    ("unchanged both", 5, Side(5, None), Side(5, None), 5, False, False, None),
    ("local only", 5, Side(6, EARLY), Side(5, None), 6, True, False, None),
    ("remote only", 5, Side(5, None), Side(7, EARLY), 7, False, True, None),
    ("both, remote later", 5, Side(6, EARLY), Side(7, LATE), 7, False, True, REMOTE),
    ("both, local later", 5, Side(6, LATE), Side(7, EARLY), 6, True, False, LOCAL),
    ("both, same time: ours", 5, Side(6, LATE), Side(7, LATE), 6, True, False, LOCAL),
    ("both, same value", 5, Side(8, EARLY), Side(8, LATE), 8, False, False, None),
    ("both, remote time unknown", 5, Side(6, EARLY), Side(7, None), 6, True, False, LOCAL),
    ("both, local time unknown", 5, Side(6, None), Side(7, EARLY), 7, False, True, REMOTE),
    ("unrated locally", 5, Side(None, EARLY), Side(5, None), None, True, False, None),
    ("first rated remotely", None, Side(None, None), Side(5, EARLY), 5, False, True, None),
    ("removed locally", 5, Side(REMOVED, EARLY), Side(5, None), REMOVED, True, False, None),
    ("removed remotely", 5, Side(5, None), Side(REMOVED, EARLY), REMOVED, False, True, None),
    ("removed locally, edited remotely later", 5, Side(REMOVED, EARLY), Side(7, LATE),
     7, False, True, REMOTE),
    ("removed locally later, edited remotely", 5, Side(REMOVED, LATE), Side(7, EARLY),
     REMOVED, True, False, LOCAL),
    ("removed remotely later, edited locally", 5, Side(6, EARLY), Side(REMOVED, LATE),
     REMOVED, False, True, REMOTE),
    ("removed remotely, edited locally later", 5, Side(6, LATE), Side(REMOVED, EARLY),
     6, True, False, LOCAL),
    ("removed both", 5, Side(REMOVED, EARLY), Side(REMOVED, LATE), REMOVED, False, False, None),
    ("added again remotely", REMOVED, Side(REMOVED, None), Side(3, LATE), 3, False, True, None),
]


@pytest.mark.parametrize(
    ("synced", "local", "remote", "value", "push", "apply", "winner"),
    [row[1:] for row in MATRIX], ids=[row[0] for row in MATRIX],
)
def test_the_conflict_matrix(synced, local, remote, value, push, apply, winner):
    outcome = merge_field(field="score", synced=synced, synced_at=SYNCED_AT, local=local,
                          remote=remote)

    conflict = Conflict("score", local, remote, winner) if winner else None
    assert outcome == Outcome("score", value, push=push, apply=apply, conflict=conflict)


def entry(status="current", progress=3, score=None, at=None):
    return {"status": Side(status, at), "progress": Side(progress, at), "score": Side(score, at)}


SYNCED = {"status": "current", "progress": 3, "score": None}


def test_an_entry_with_both_sides_present_merges_per_field():
    local = entry(progress=4, at=EARLY) | {"status": Side("current", None)}
    remote = entry(score=80, at=LATE) | {"progress": Side(5, LATE)}

    outcomes = merge_entry(synced=SYNCED, synced_at=SYNCED_AT, local=local, remote=remote)

    assert [(o.field, o.value, o.push, o.apply) for o in outcomes] == [
        ("status", "current", False, False),
        ("progress", 5, False, True),
        ("score", 80, False, True),
    ]
    assert outcomes[1].conflict.winner == REMOTE
    assert outcomes[2].conflict is None


def test_a_removal_against_an_edit_is_one_conflict_on_the_whole_entry():
    local = Side(REMOVED, LATE)
    remote = entry(progress=9, at=EARLY)

    [outcome] = merge_entry(synced=SYNCED, synced_at=SYNCED_AT, local=local, remote=remote)

    assert (outcome.field, outcome.value, outcome.push, outcome.apply) == (
        ENTRY, REMOVED, True, False)
    assert outcome.conflict == Conflict(
        ENTRY, local, Side({"status": "current", "progress": 9, "score": None}, EARLY), LOCAL)


def test_an_edit_after_a_removal_noticed_without_a_time_wins():
    """A full pull sees a removal but not when it happened: it counts as at the last sync."""
    [outcome] = merge_entry(synced=SYNCED, synced_at=SYNCED_AT, local=entry(score=70, at=EARLY),
                            remote=Side(REMOVED, None))

    assert outcome.value == {"status": "current", "progress": 3, "score": 70}
    assert (outcome.push, outcome.conflict.winner) == (True, LOCAL)


def test_a_removal_on_one_side_only_is_no_conflict():
    [outcome] = merge_entry(synced=SYNCED, synced_at=SYNCED_AT, local=entry(),
                            remote=Side(REMOVED, EARLY))

    assert (outcome.value, outcome.push, outcome.apply, outcome.conflict) == (
        REMOVED, False, True, None)


def test_a_first_link_merges_per_field_without_a_base():
    """Never synced: equal values are no conflict, one side's value fills the other's gap."""
    outcomes = merge_entry(synced=None, synced_at=None, local=entry(score=None, at=EARLY),
                           remote=entry(score=60, at=LATE))

    assert [(o.value, o.push, o.apply, o.conflict) for o in outcomes] == [
        ("current", False, False, None), (3, False, False, None), (60, False, True, None)]


# Few values, so that sides often agree or match the base; times on one small range, so that
# ties happen.
values = st.sampled_from([None, 1, 2, "current", REMOVED])
times = st.one_of(st.none(), st.integers(0, 3).map(lambda h: SYNCED_AT + timedelta(hours=h)))
sides = st.builds(Side, values, times)


@given(synced=values, local=sides, remote=sides)
def test_merging_the_result_again_changes_nothing(synced, local, remote):
    first = merge_field(field="f", synced=synced, synced_at=SYNCED_AT, local=local,
                        remote=remote)
    # What each side holds once the outcome is carried out.
    here = first.value if first.apply else local.value
    there = first.value if first.push else remote.value
    assert here == there == first.value

    again = merge_field(field="f", synced=first.value, synced_at=LATE,
                        local=Side(here, local.changed_at), remote=Side(there, remote.changed_at))
    assert again == Outcome("f", first.value, push=False, apply=False)


@given(synced=values, local_at=times, remote=sides)
def test_no_push_when_only_the_service_changed(synced, local_at, remote):
    outcome = merge_field(field="f", synced=synced, synced_at=SYNCED_AT,
                          local=Side(synced, local_at), remote=remote)
    assert not outcome.push
    assert outcome.conflict is None
    assert outcome.value == remote.value


@given(synced=values, local=sides, remote=sides)
def test_a_conflict_exactly_when_both_changed_differently(synced, local, remote):
    outcome = merge_field(field="f", synced=synced, synced_at=SYNCED_AT, local=local,
                          remote=remote)
    both = synced != local.value != remote.value != synced
    assert (outcome.conflict is not None) == both
    assert outcome.value in (local.value, remote.value)
    assert not (outcome.push and outcome.apply)


def test_compared_in_the_service_terms_a_score_the_scale_cannot_hold_does_not_drift():
    """87 here was pushed to MyAnimeList as 9: the next pull reads 9, and nothing changed."""
    ours = Side(MYANIMELIST.from_internal(87), EARLY)
    outcome = merge_field(field="score", synced=9, synced_at=SYNCED_AT, local=ours,
                          remote=Side(9, None))
    in_library_terms = merge_field(field="score", synced=87, synced_at=SYNCED_AT,
                                   local=Side(87, EARLY), remote=Side(MYANIMELIST.to_internal(9)))

    assert outcome == Outcome("score", 9, push=False, apply=False)
    assert in_library_terms.apply  # the drift the rule avoids: 87 would become 90 here


def test_the_conflict_model_records_every_outcome_of_the_merge():
    assert set(LibraryConflict.Field.values) == {*FIELDS, ENTRY}
    assert set(LibraryConflict.Winner.values) == {LOCAL, REMOTE}
