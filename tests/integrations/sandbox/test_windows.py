from integrations.sandbox.windows import fixed_window_counts, sliding_window_counts


def test_sliding_window_counts_each_window_from_each_request():
    times = [0.0, 0.1, 0.5, 0.99, 1.0, 1.05, 3.0]
    assert sliding_window_counts(times, 1.0) == [4, 5, 4, 3, 2, 1, 1]
    assert sliding_window_counts([], 1.0) == []
    assert sliding_window_counts([5.0, 5.0, 5.0], 0.001) == [3, 2, 1]


def test_fixed_window_counts_from_the_first_request_or_a_start():
    times = [10.0, 10.2, 10.9, 11.0, 13.5]
    assert fixed_window_counts(times, 1.0) == [3, 1, 0, 1]
    assert fixed_window_counts(times, 1.0, start=9.5) == [2, 2, 0, 0, 1]
    assert fixed_window_counts(times, 1.0, start=10.5) == [2, 0, 0, 1]  # earlier ones left out
    assert fixed_window_counts([], 1.0) == []
