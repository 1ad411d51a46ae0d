import time

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


def test_a_slice_of_ten_thousand_tracks_is_cheap():
    library = data.tracks("ana", 10_000)
    started = time.perf_counter()
    page = library[9_950:10_050]
    assert time.perf_counter() - started < 0.1
    assert [t["id"] for t in page] == [f"trk_{n:05d}" for n in range(9_951, 10_001)]
    assert len(library) == 10_000


def test_first_number_updated_after():
    base = data.BASE_UPDATED_AT
    assert data.first_number_updated_after(base) == 1
    assert data.first_number_updated_after(base - data.UPDATE_STEP * 5) == 1
    assert data.first_number_updated_after(base + data.UPDATE_STEP * 5) == 6
    assert data.first_number_updated_after(base + data.UPDATE_STEP * 5.5) == 6
    assert data.tracks("ana", 10, first=6)[0]["updated_at"] == data.updated_at(6)
