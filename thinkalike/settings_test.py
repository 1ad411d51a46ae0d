"""Test settings: the production settings with the sandbox on and fast, deterministic knobs.

The environment still decides the database and broker, which is how CI runs the same suite on
SQLite and then on PostgreSQL + Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("THINKALIKE_SANDBOX", "1")
os.environ.setdefault(
    "THINKALIKE_FERNET_KEYS", "test-fernet-key-newest,test-fernet-key-older"
)
os.environ.setdefault("SPOTIFY_CLIENT_ID", "spotify-test-client-id")
os.environ.setdefault("SPOTIFY_CLIENT_SECRET", "spotify-test-client-secret-0123456789")
os.environ.setdefault("GITHUB_CLIENT_ID", "Iv1.github-test-client")
os.environ.setdefault("GITHUB_CLIENT_SECRET", "github-test-client-secret-0123456789")
os.environ.setdefault("ANILIST_CLIENT_ID", "4242")
os.environ.setdefault("ANILIST_CLIENT_SECRET", "anilist-test-client-secret-0123456789")
os.environ.setdefault("MYANIMELIST_CLIENT_ID", "mal-test-client-id-0f1e2d3c4b5a")
os.environ.setdefault("MYANIMELIST_CLIENT_SECRET", "mal-test-client-secret-0123456789")
# In tests the sandbox is reached through an in-process bridge (tests/sandbox_bridge.py), never
# through a socket, so its host is a name that cannot resolve.
os.environ.setdefault("THINKALIKE_SANDBOX_URL", "http://sandbox.test/sandbox")
# The test client's host; the sandbox's own origin is registered anyway.
os.environ.setdefault("THINKALIKE_SANDBOX_REDIRECT_URIS",
                      "http://testserver/accounts/sandbox/login/callback/")

# Budgets make requests wait in real time; the tests that are about them switch them on.
os.environ.setdefault("THINKALIKE_RATE_BUDGETS", "0")

from thinkalike.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "sandbox.test", "127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False  # the test client speaks http
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
THINKALIKE_HTTP_BACKOFF_BASE = 0.0
THINKALIKE_FORBID_NETWORK_IN_TRANSACTION = True  # and tests/conftest.py fails swallowed ones
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "DEBUG"  # noqa: F405  # the leak test reads every log record
