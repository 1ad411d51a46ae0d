"""The export (privacy/export.py): one person's zip, built by the worker's service.

For a person with N imported items (N = 10,000 and 100,000, inserted with bulk_create) and a
few of every other table (sync and action runs, outbound requests, interests, consent, library
entries, API tokens), measured through ``export_build`` (count, stream, progress updates):

* seconds and rows per second (a run without tracemalloc, which slows Python down);
* the zip's size;
* the peak Python memory (tracemalloc) of a second build: the rows are streamed, so the peak
  at 100,000 items must stay close to the peak at 10,000 (far from 10x).

``python -m benchmarks.export`` runs this section alone and merges it into
benchmarks/results.json.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

SECTION = "export"
SIZES = (10_000, 100_000)
OTHERS = 200  # rows of each other table


def _seed(n: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from consent.purposes import MATCHING
    from consent.services import consent_set
    from integrations.api_tokens import api_token_create
    from integrations.models import (
        ActionRun,
        ApiCall,
        Connection,
        Credential,
        ExternalItem,
        Interest,
        SyncRun,
        UserInterest,
    )
    from library.models import LibraryEntry, MediaTitle

    tag = uuid.uuid4().hex[:8]
    user = get_user_model().objects.create(username=f"exp-{tag}", email=f"exp-{tag}@example.com")
    connection = Connection.objects.create(user=user, provider="sandbox",
                                           external_account_id=f"sb-{tag}")
    Credential.objects.create(connection=connection, access_token=f"AT-{tag}",
                              token_type="Bearer")
    now = timezone.now()
    for start in range(0, n, 5_000):
        ExternalItem.objects.bulk_create([ExternalItem(
            connection=connection, kind="track", external_id=f"{tag}-{i}",
            title=f"Track {i} by Someone", content_hash="0" * 64,
            attrs={"artist": f"Artist {i % 997}", "genres": ["shoegaze", "dream pop"],
                   "popularity": i % 100}) for i in range(start, min(n, start + 5_000))],
            batch_size=1_000)
    SyncRun.objects.bulk_create([SyncRun(connection=connection, trigger="schedule",
                                         status="succeeded", started_at=now, finished_at=now,
                                         fetched=50, created=1) for _ in range(OTHERS)])
    ActionRun.objects.bulk_create([ActionRun(
        connection=connection, action="add_track", status="succeeded",
        idempotency_key=f"{tag}-{i}", input_summary={"title": f"t{i}"}, summary="done")
        for i in range(OTHERS)])
    ApiCall.objects.bulk_create([ApiCall(connection=connection, provider="sandbox", method="GET",
                                         host="127.0.0.1", path="/sandbox/api/v1/me/tracks",
                                         status_code=200, duration_ms=12)
                                 for _ in range(OTHERS)])
    interests = Interest.objects.bulk_create(
        [Interest(slug=f"music:{tag}-{i}", label=f"Genre {i}", category="music")
         for i in range(OTHERS)])
    UserInterest.objects.bulk_create([UserInterest(user=user, interest=interest,
                                                   connection=connection, purpose=MATCHING,
                                                   weight=0.5) for interest in interests])
    titles = MediaTitle.objects.bulk_create([MediaTitle(kind="anime", titles={"en": f"A {i}"})
                                             for i in range(OTHERS)])
    LibraryEntry.objects.bulk_create([LibraryEntry(user=user, title=title, status="current",
                                                   progress=3, score=80) for title in titles])
    consent_set(user=user, purpose=MATCHING, granted=True)
    api_token_create(user=user, name="bench")
    return user


def _build(user) -> tuple[float, object]:
    from privacy.export_services import export_build
    from privacy.models import DataExport

    export = DataExport.objects.create(user=user)
    started = time.perf_counter()
    export = export_build(export_id=export.pk)
    return time.perf_counter() - started, export


def _size(n: int) -> dict:
    from privacy.models import DataExport

    user = _seed(n)
    seconds, export = _build(user)
    assert export.status == DataExport.Status.READY, export.error
    tracemalloc.start()
    try:
        _build(user)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    export = DataExport.objects.filter(user=user).order_by("-pk").first()
    return {"items": n, "rows": export.progress_total, "seconds": round(seconds, 2),
            "rows_per_s": round(export.progress_total / seconds),
            "zip_bytes": export.size_bytes, "peak_python_mib": round(peak / 2**20, 2)}


def run() -> dict:
    from django.conf import settings

    with tempfile.TemporaryDirectory(prefix="thinkalike-exports-") as directory:
        settings.THINKALIKE_EXPORT_DIR = Path(directory)
        sizes = {str(n): _size(n) for n in SIZES}
    small, large = (sizes[str(n)] for n in SIZES)
    return {"sizes": sizes,
            "peak_ratio": round(large["peak_python_mib"] / small["peak_python_mib"], 2),
            "items_ratio": SIZES[1] // SIZES[0]}


def table(results: dict) -> str:
    lines = ["Export (one person's zip, JSON + CSV, through export_build)",
             "| items | rows | seconds | rows/s | zip MiB | peak Python MiB |",
             "|---|---|---|---|---|---|"]
    for row in results["sizes"].values():
        lines.append(f"| {row['items']} | {row['rows']} | {row['seconds']} | {row['rows_per_s']} "
                     f"| {row['zip_bytes'] / 2**20:.2f} | {row['peak_python_mib']} |")
    lines.append(f"Peak memory at {results['items_ratio']}x the items: "
                 f"{results['peak_ratio']}x (constant memory: far below "
                 f"{results['items_ratio']}x).")
    return "\n".join(lines)


def main() -> int:
    """This section alone, merged into benchmarks/results.json."""
    from benchmarks.__main__ import run_alone

    return run_alone(SECTION, run, table)


if __name__ == "__main__":
    raise SystemExit(main())
