"""Run every benchmark, print a table and write benchmarks/results.json.

Each benchmark runs against a fresh SQLite file (or DATABASE_URL when set) with the test
settings, so it never touches a developer's data.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if not os.environ.get("DATABASE_URL"):
        handle, path = tempfile.mkstemp(prefix="thinkalike-bench-", suffix=".sqlite3")
        os.close(handle)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thinkalike.settings_test")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main() -> int:
    setup_django()
    from benchmarks import page_queries

    results = {"cores": os.cpu_count(), "page_queries": page_queries.run()}
    print(page_queries.table(results["page_queries"]))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
