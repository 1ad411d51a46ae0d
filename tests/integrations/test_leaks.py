"""DESIGN.md section 7: no secret in any page, API answer, log record, SyncRun or ApiCall row.

A full run: connect the sandbox through its real OAuth server, consent, sync (with a token
refresh on the way), browse every user page and every admin page, then disconnect; then search
everything that was rendered, logged or stored for any secret that passed through.
"""

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent
from integrations.models import ApiCall, AuditEvent, Connection, Credential, SyncRun
from tests.factories import make_user

PASSWORD = "pw-0123456789"


def model_rows_as_text(model) -> str:
    return "\n".join(repr(list(row)) for row in model.objects.values_list())


def admin_urls(obj_by_model) -> list[str]:
    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        obj = obj_by_model.get(model) or model.objects.first()
        if obj is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                args=[obj.pk]))
    return urls


@pytest.mark.django_db
def test_no_secret_anywhere_after_a_full_run(client, sandbox, caplog, q_sync,
                                             django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    user = make_user()
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    sandbox.knobs(token_lifetime_seconds=60, track_count=80, artist_count=10)  # forces refresh

    # connect through allauth and the sandbox's consent page
    start = client.post(reverse("sandbox_login") + "?process=connect")
    location = urlparse(start["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    allow = client.post(location.path, {**query, "account": "leaky", "allow": "1"})
    back = urlparse(allow["Location"])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(back.path + "?" + back.query)  # the first sync runs inline (q_sync)
    connection = Connection.objects.get(user=user)
    credential = Credential.objects.get(connection=connection)
    secrets = {credential.access_token, credential.refresh_token}

    client.post(reverse("consent:set"), {"purpose": "matching", "provider": "", "granted": "on"})
    issued_at = credential.refreshed_at
    # Past half the 60-second token's life: the sync renews it first.
    with time_machine.travel(timezone.now() + timedelta(seconds=45)), \
            django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:sync_now", args=[connection.pk]))
    credential.refresh_from_db()
    secrets |= {credential.access_token, credential.refresh_token}  # after the refresh
    run = SyncRun.objects.filter(connection=connection).order_by("pk").last()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert credential.refreshed_at > issued_at, "the short token lifetime should force a refresh"

    pages = [
        reverse("integrations:connected_services"),
        reverse("integrations:connection_detail", args=[connection.pk]),
        reverse("integrations:run_detail", args=[connection.pk, run.pk]),
        reverse("integrations:run_status", args=[connection.pk, run.pk]),
        reverse("integrations:interests"),
        reverse("integrations:interests") + "?purpose=matching",
        reverse("integrations:disconnect", args=[connection.pk]),
        reverse("consent:settings"),
        *admin_urls({Connection: connection, Credential: credential, SyncRun: run}),
    ]
    rendered = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        rendered.append(response.content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:disconnect", args=[connection.pk]))
    rendered.append(client.get(reverse("integrations:connected_services")).content.decode())

    secrets |= {app["secret"] for entry in settings.SOCIALACCOUNT_PROVIDERS.values()
                for app in entry.get("APPS", [])}
    secrets |= {settings.THINKALIKE_SANDBOX_CLIENT_SECRET, PASSWORD}
    secrets.discard("")
    assert len(secrets) >= 6
    haystacks = {
        "pages": "\n".join(rendered),
        "logs": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
        "sync runs": model_rows_as_text(SyncRun),
        "api calls": model_rows_as_text(ApiCall),
        "audit": model_rows_as_text(AuditEvent),
        "consent": model_rows_as_text(ConsentEvent),
    }
    assert "sandbox" in haystacks["api calls"]  # the haystacks are not empty by accident
    for name, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {name}"
