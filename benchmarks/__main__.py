"""Run every benchmark, print a table and write benchmarks/results.json.

Each benchmark runs against a fresh SQLite file (or DATABASE_URL when set) with the test
settings, so it never touches a developer's data. The sync throughput benchmark makes its own
SQLite file, shared by the loopback sandbox server and the subprocesses it times. django-q2
uses the ORM broker (REDIS_URL is cleared), so queueing is measured on the database.
All ratios are measured within this one run.
"""

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if not os.environ.get("DATABASE_URL"):
        handle, path = tempfile.mkstemp(prefix="thinkalike-bench-", suffix=".sqlite3")
        os.close(handle)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["REDIS_URL"] = ""  # the ORM broker: the dispatcher benchmark measures it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thinkalike.settings_test")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def merge_section(section: str, results: dict) -> None:
    """Write one benchmark's results into results.json, keeping the other sections (a section
    run alone: ``python -m benchmarks.<name>``)."""
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged[section] = results
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"\nmerged into {RESULTS}", file=sys.stderr)


def run_alone(section: str, run, table) -> int:
    """``python -m benchmarks.<name>``: run one benchmark, print its table, merge its section."""
    setup_django()
    results = run()
    print(table(results))
    merge_section(section, results)
    return 0


def main() -> int:
    setup_django()
    from benchmarks import (
        api_list_queries,
        dispatcher,
        export,
        library,
        page_queries,
        proxy,
        sync_throughput,
    )

    try:
        from benchmarks import rate_budget
    except ImportError:  # written separately; included once it exists
        rate_budget = None

    started = time.monotonic()
    results: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "cores": os.cpu_count()}
    sections = [("page_queries", page_queries), (api_list_queries.SECTION, api_list_queries),
                ("dispatcher", dispatcher), ("sync_throughput", sync_throughput)]
    if rate_budget is not None:
        sections.append(("rate_budget", rate_budget))
    sections.append(("proxy", proxy))
    sections.append((library.SECTION, library))
    sections.append((export.SECTION, export))
    tables = [f"Benchmarks, {results['date']}, {results['cores']} cores"]
    for name, module in sections:
        print(f"running {name}...", file=sys.stderr, flush=True)
        results[name] = module.run()
        tables.append(module.table(results[name]))
    results["seconds"] = round(time.monotonic() - started, 1)
    print("\n\n".join(tables))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS} ({results['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
