"""Connect a provider with a form and run one full sync against its stand-in (through the
``sandbox`` bridge fixture, with THINKALIKE_STAND_INS on)."""

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.models import Connection, SyncRun
from integrations.providers.registry import get_provider
from integrations.services import connection_connect_with_form
from integrations.sync import sync_execute, sync_request
from tests.factories import make_user


def connect_and_sync(settings, slug: str, token: str) -> tuple[Connection, SyncRun]:
    """Returns the connection and its run, which must have succeeded."""
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user(f"{slug}-demo@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    connection = connection_connect_with_form(user=user, provider=get_provider(slug),
                                              fields={"token": token})
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)  # connect's run
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    run = sync_execute(run_id=run.pk)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return connection, run
