"""django-q2 entry points. They take ids and call one service each.

The dotted paths are stored in queued payloads and Schedule.func: renaming one needs a data
migration. Imports are inside the functions so loading this module stays cheap for workers.
"""


def sync_run_task(run_id: int) -> str:
    from .sync import sync_execute

    run = sync_execute(run_id=run_id)
    return run.status if run else "gone"


def dispatch_due_syncs() -> int:
    from .sync import sync_dispatch_due

    return sync_dispatch_due()


def refresh_expiring_tokens() -> int:
    from .maintenance import tokens_refresh_expiring

    return tokens_refresh_expiring().refreshed


def purge_api_calls() -> int:
    from .maintenance import api_calls_purge

    return api_calls_purge()


def close_stale_action_runs() -> int:
    from .actions import action_runs_close_stale

    return action_runs_close_stale()


def send_staff_health_digest() -> int:
    from .digest import staff_digest_send

    return staff_digest_send()


def test_due_connections() -> int:
    from .connection_tests import connection_tests_run_due

    return connection_tests_run_due().tested
