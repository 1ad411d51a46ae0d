"""SQL queries of the Connected Services page and the admin changelist at 1, 10 and 100 connections.

The target (DESIGN.md section 11) is the same count at every size.
"""

from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

SIZES = (1, 10, 100)


def _seed(count: int):
    from django.contrib.auth import get_user_model

    from integrations.models import Connection, SyncRun

    User = get_user_model()
    owner = User.objects.create_user(username=f"bench{count}", email=f"bench{count}@example.com",
                                     password="bench-password", is_staff=True,
                                     is_superuser=True)
    # One user holds one connection per provider; extra connections belong to other users so
    # the admin changelist grows while the user's page shows the full catalog.
    providers = ["sandbox", "spotify", "openlibrary"]
    for i in range(count):
        user = owner if i < len(providers) else User.objects.create_user(
            username=f"b{count}-{i}", email=f"b{count}-{i}@example.com")
        conn = Connection.objects.create(user=user, provider=providers[i % len(providers)],
                                         external_account_id=f"ext-{i}", account_label=f"acc {i}")
        SyncRun.objects.create(connection=conn, trigger="manual", status="succeeded")
        SyncRun.objects.create(connection=conn, trigger="schedule", status="succeeded")
    return owner


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(db) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def run() -> dict:
    from integrations.models import Connection

    results: dict[str, dict[int, int]] = {"connected_services": {}, "admin_connections": {}}
    for size in SIZES:
        Connection.objects.all().delete()
        owner = _seed(size)
        client = Client()
        client.force_login(owner)
        results["connected_services"][size] = _count(
            client, reverse("integrations:connected_services"))
        results["admin_connections"][size] = _count(
            client, reverse("admin:integrations_connection_changelist"))
    return results


def table(results: dict) -> str:
    lines = ["| page | " + " | ".join(f"{s} conn." for s in SIZES) + " | constant |",
             "|---|" + "---|" * (len(SIZES) + 1)]
    for page, counts in results.items():
        values = [counts[s] for s in SIZES]
        lines.append(f"| {page} | " + " | ".join(map(str, values))
                     + f" | {'yes' if len(set(values)) == 1 else 'NO'} |")
    return "\n".join(lines)
