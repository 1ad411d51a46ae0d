"""Pure arithmetic over request times, shared by the sandbox and by tests and benchmarks.

No Django imports: a benchmark can read ``sandbox_sandboxrequest.at`` with plain ``sqlite3``
and call these directly.
"""

from collections.abc import Sequence


def sliding_window_counts(times: Sequence[float], window_seconds: float) -> list[int]:
    """For each time ``t`` (sorted ascending), how many times fall in ``[t, t + window)``.

    A sliding limit of N per window holds exactly when every count is at most N.
    """
    counts, end = [], 0
    for start, t in enumerate(times):
        end = max(end, start)
        while end < len(times) and times[end] < t + window_seconds:
            end += 1
        counts.append(end - start)
    return counts


def fixed_window_counts(
    times: Sequence[float], window_seconds: float, *, start: float | None = None
) -> list[int]:
    """Counts per consecutive window ``[start + k*window, start + (k+1)*window)``.

    ``start`` defaults to the first time; the last window is the one holding the last time.
    Use it for utilisation ("at least 90% of the limit while there is work").
    """
    if not times:
        return []
    origin = times[0] if start is None else start
    counts = [0] * (int((times[-1] - origin) // window_seconds) + 1)
    for t in times:
        if t >= origin:
            counts[int((t - origin) // window_seconds)] += 1
    return counts
