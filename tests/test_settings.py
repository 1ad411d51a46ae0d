"""thinkalike/settings.py as a deployment sees it: production checks, TLS behind a proxy, the
cache table, password rules and logging.

Several tests run ``manage.py`` or Python in a subprocess with a production environment, because
the settings module reads the environment once, at import.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    MinimumLengthValidator,
    NumericPasswordValidator,
)
from django.urls import reverse
from django.utils.html import escape

from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    """A realistic production environment: own keys, TLS at a proxy, HSTS, no sandbox."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "thinkalike.settings",
        "SECRET_KEY": "x7-" + Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "THINKALIKE_FERNET_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "thinkalike.example",
        "THINKALIKE_BEHIND_TLS_PROXY": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_PRELOAD": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# --- check --deploy ----------------------------------------------------------------------------


def test_a_realistic_production_config_passes_check_deploy_with_no_warnings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_the_demo_fernet_key_in_production(tmp_path):
    env = production_env(
        tmp_path, THINKALIKE_FERNET_KEYS="demo-only-fernet-key-do-not-use-in-production",
    )
    result = manage(env, "check", "--deploy")

    assert result.returncode != 0
    assert "thinkalike.E003" in result.stderr


def test_security_settings_come_from_the_environment(tmp_path):
    show = ("import thinkalike.settings as s; print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None),"
            " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            " s.SECURE_HSTS_PRELOAD)")
    behind = python(production_env(tmp_path), show)
    direct = python(production_env(tmp_path, THINKALIKE_BEHIND_TLS_PROXY="",
                                   SECURE_HSTS_SECONDS="", SECURE_HSTS_PRELOAD="",
                                   SECURE_SSL_REDIRECT="0"), show)

    assert behind.stdout.split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "True",
                                     "31536000", "True", "True"], behind.stderr
    # Opt-in only: trusting the header without a proxy that sets it lets clients claim https.
    assert direct.stdout.split() == ["None", "False", "0", "True", "False"], direct.stderr


@pytest.mark.django_db
def test_oauth_redirect_uri_is_https_behind_a_tls_proxy(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client.force_login(make_user())

    def redirect_uri(**headers):
        # A proxy forwards the public Host header (no port) along with X-Forwarded-Proto.
        response = client.post(reverse("sandbox_login") + "?process=connect",
                               HTTP_HOST="testserver", **headers)
        assert response.status_code == 302
        return parse_qs(urlparse(response["Location"]).query)["redirect_uri"][0]

    assert redirect_uri(HTTP_X_FORWARDED_PROTO="https") == (
        "https://testserver" + reverse("sandbox_callback"))
    assert redirect_uri().startswith("http://testserver/")


# --- migrate alone leaves a working site ---------------------------------------------------------


def test_migrate_alone_creates_the_cache_table_so_sign_up_works(tmp_path):
    env = production_env(tmp_path, ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0",
                         SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
                         LOG_LEVEL="ERROR")
    migrated = manage(env, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr

    sign_up = python(env, (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "pw = 'a-Long-enough-passphrase-26'\n"
        "r = Client().post('/accounts/signup/', {'email': 'new@example.com',"
        " 'password1': pw, 'password2': pw})\n"
        "print(r.status_code)\n"
    ))

    assert sign_up.stdout.strip() == "302", sign_up.stdout + sign_up.stderr


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("password, message", [
    ("123456", NumericPasswordValidator().get_error_message()),
    ("password", CommonPasswordValidator().get_error_message()),
    ("Xq9!", MinimumLengthValidator().get_error_message()),
])
def test_sign_up_refuses_weak_passwords(client, django_user_model, password, message):
    response = client.post(reverse("account_signup"), {
        "email": "weak@example.com", "password1": password, "password2": password,
    })

    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not django_user_model.objects.filter(email="weak@example.com").exists()


# --- logging: one line per event --------------------------------------------------------------

LOG_EVENTS = """
import logging
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings

with override_settings(ROOT_URLCONF="tests.error_urls"):
    Client().get("/test-errors/403/")
    Client().get("/no-such-page/")
    Client(enforce_csrf_checks=True).post("/connections/1/sync/")
logging.getLogger("integrations.sync").warning("our own warning")
"""


def test_each_log_event_is_one_line_without_a_traceback_for_refusals(tmp_path):
    # DEBUG on is the demo's setting, and the one where Django adds a console handler of its own.
    env = production_env(tmp_path, DEBUG="1", ALLOWED_HOSTS="testserver", LOG_LEVEL="INFO")
    assert manage(env, "migrate", "--no-input").returncode == 0

    result = python(env, LOG_EVENTS)

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    for event in ("Forbidden (Permission denied): /test-errors/403/",
                  "Not Found: /no-such-page/", "Forbidden (CSRF cookie not set.)",
                  "our own warning"):
        assert sum(event in line for line in lines) == 1, (event, result.stderr)
    assert all(" WARNING " in line for line in lines), result.stderr
