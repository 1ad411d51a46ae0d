
from integrations.sandbox import data


def test_data_is_deterministic_per_account():
    assert data.tracks("ana", 50)[:] == data.tracks("ana", 50)[:]
    assert data.tracks("ana", 50)[:] != data.tracks("bo", 50)[:]
    assert data.artists("ana", 3)[2] == data.artist("ana", 3)


def test_items_use_the_genre_list_and_ids():
    items = data.tracks("ana", 200)[:]
    assert [t["id"] for t in items[:2]] == ["trk_00001", "trk_00002"]
    assert all(1 <= len(t["genres"]) <= 3 for t in items)
    assert all(set(t["genres"]) <= set(data.GENRES) for t in items)
    assert len({g for t in items for g in t["genres"]}) > 10
    assert len(data.GENRES) == 30


def counting_builds(monkeypatch) -> list[int]:
    """The track numbers built: a slice must cost its own items only (counted, not timed)."""
    built: list[int] = []
    build = data.track

    def counting(account, number, **options):
        built.append(number)
        return build(account, number, **options)

    monkeypatch.setattr(data, "track", counting)
    return built


def test_a_slice_of_ten_thousand_tracks_is_cheap(monkeypatch):
    built = counting_builds(monkeypatch)
    library = data.tracks("ana", 10_000)
    page = library[9_950:10_050]
    assert built == list(range(9_951, 10_001))
    assert [t["id"] for t in page] == [f"trk_{n:05d}" for n in range(9_951, 10_001)]
    assert len(library) == 10_000


def test_first_number_updated_after():
    base = data.BASE_UPDATED_AT
    assert data.first_number_updated_after(base) == 1
    assert data.first_number_updated_after(base - data.UPDATE_STEP * 5) == 1
    assert data.first_number_updated_after(base + data.UPDATE_STEP * 5) == 6
    assert data.first_number_updated_after(base + data.UPDATE_STEP * 5.5) == 6
    later = data.tracks("ana", 10, updated_since=base + data.UPDATE_STEP * 5)
    assert later[0]["updated_at"] == data.updated_at(6) and len(later) == 5


def test_a_revision_retitles_and_dates_the_multiples_of_seven():
    base, revised = data.tracks("ana", 30)[:], data.tracks("ana", 30, revision=4)[:]
    for before, after in zip(base, revised, strict=True):
        number = int(before["id"][4:])
        if number % 7:
            assert after == before
        else:
            assert after["title"] == before["title"] + " (rev 4)"
            assert after["updated_at"] == "2037-05-29T20:00:00Z" == data._stamp(
                data.revised_at(4))
            assert after["updated_at"] > data.updated_at(99_999)
            assert after["artist"] == before["artist"]


def test_updated_since_with_revisions_returns_exactly_what_changed():
    count = 100
    latest_base = data.BASE_UPDATED_AT + count * data.UPDATE_STEP
    changed = [f"trk_{n:05d}" for n in range(7, 101, 7)]
    assert [t["id"] for t in data.tracks("ana", count, revision=1,
                                         updated_since=latest_base)] == changed
    assert len(data.tracks("ana", count, revision=1, updated_since=data.revised_at(1))) == 0
    assert [t["id"] for t in data.tracks("ana", count, revision=2,
                                         updated_since=data.revised_at(1))] == changed
    # Partly through the base dates: the revised ones below the cursor, then everything.
    middle = data.tracks("ana", count, revision=1,
                         updated_since=data.BASE_UPDATED_AT + 50 * data.UPDATE_STEP)
    assert [t["id"] for t in middle] == (
        [f"trk_{n:05d}" for n in range(7, 50, 7)] + [f"trk_{n:05d}" for n in range(51, 101)]
    )
    assert middle[-1]["id"] == "trk_00100" and middle[7]["id"] == "trk_00051"
