"""Only SHA-256 hashes of codes and tokens reach the database."""

import hashlib
import secrets

import pytest
from django.db import connection

from integrations.sandbox.models import SandboxAuthCode, SandboxGrant

pytestmark = pytest.mark.django_db


def every_sandbox_row() -> str:
    dump = []
    with connection.cursor() as cursor:
        for model in (SandboxAuthCode, SandboxGrant):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")
            dump += [repr(row) for row in cursor.fetchall()]
    return "\n".join(dump)


def test_plaintext_codes_and_tokens_are_never_stored(oauth):
    verifier = secrets.token_urlsafe(48)
    code = oauth.code(verifier=verifier)
    tokens = oauth.exchange(code, verifier).json()
    refreshed = oauth.token_request(grant_type="refresh_token",
                                    refresh_token=tokens["refresh_token"]).json()
    rows = every_sandbox_row()
    for secret in (code, tokens["access_token"], tokens["refresh_token"],
                   refreshed["access_token"], refreshed["refresh_token"]):
        assert secret not in rows
        assert secret.split("_", 2)[-1] not in rows  # not even without its prefix
    grant = SandboxGrant.objects.get()
    assert grant.access_hash == hashlib.sha256(refreshed["access_token"].encode()).hexdigest()
    assert SandboxAuthCode.objects.get().code_hash == hashlib.sha256(code.encode()).hexdigest()


def test_admin_never_shows_hashes(oauth, admin_client):
    oauth.tokens()
    grant = SandboxGrant.objects.get()
    for url in ("/admin/sandbox/sandboxgrant/", f"/admin/sandbox/sandboxgrant/{grant.pk}/change/",
                "/admin/sandbox/sandboxauthcode/"):
        page = admin_client.get(url).content.decode()
        assert "demo-listener" in page
        assert grant.access_hash not in page and grant.refresh_hash not in page
        assert SandboxAuthCode.objects.get().code_hash not in page
