"""Settings for ThinkAlike Connected Services.

Everything that differs between a laptop, CI and production comes from the environment; the
README's configuration table lists every variable read here.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# A random key per process keeps a forgotten SECRET_KEY from being guessable; sessions then last
# one process, which is the right failure for a misconfigured deployment.
SECRET_KEY = os.environ.get("SECRET_KEY") or get_random_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    # No allauth provider apps: each provider's folder names its allauth provider class, and
    # IntegrationsConfig.ready() registers it (integrations/providers/registry.py).
    "integrations.apps.IntegrationsConfig",
    "integrations.sandbox.apps.SandboxConfig",
    "consent.apps.ConsentConfig",
    "dashboard.apps.DashboardConfig",
    "library.apps.LibraryConfig",
    "privacy.apps.PrivacyConfig",
    "notices.apps.NoticesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "thinkalike.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "thinkalike.urls"
WSGI_APPLICATION = "thinkalike.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notices.context_processors.notices",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE: without them concurrent django-q2 workers lose results to
    # "database is locked" (shared/reference/djangoq2.md section 3).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # The ORM broker and the workers close connections constantly; reuse them.
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    # A shared cache, not LocMem, so qinfo/qmonitor and every worker see the same data.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "thinkalike_cache"}}

# --- Background work (django-q2) -------------------------------------------------------------
# retry must exceed timeout * (1 + ceil((queue_limit + 1) / workers)) or long syncs run twice:
# 600 * (1 + ceil(3 / 2)) = 1800.
Q_CLUSTER = {
    "name": "thinkalike",
    "workers": int(os.environ.get("THINKALIKE_WORKERS", "2")),
    "timeout": 600,
    "retry": 2400,
    "queue_limit": 2,
    "max_attempts": 1,
    "save_limit": 0,
    "catch_up": False,
    "poll": 0.2,
    "recycle": 500,
    "label": "Background tasks",
    "ALT_CLUSTERS": {},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Accounts (allauth) ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "integrations:connected_services"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "none")
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_NOTIFICATIONS = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SOCIALACCOUNT_ADAPTER = "integrations.allauth.adapter.ConnectOnlySocialAccountAdapter"
# allauth never stores a token: ours go to the encrypted Credential model only.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_QUERY_EMAIL = False
# Re-authentication would serialise the whole sociallogin, token included, into the session.
SOCIALACCOUNT_REAUTHENTICATION_REQUIRED = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# Seconds an SMTP connection may block (None, Django's default, waits forever).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))

# --- Encryption of secrets at rest -----------------------------------------------------------
# Comma-separated, newest first: the first key encrypts, every key decrypts.
THINKALIKE_FERNET_KEYS = env_list("THINKALIKE_FERNET_KEYS")
FERNET_KEYS = THINKALIKE_FERNET_KEYS or [SECRET_KEY]

# --- Connected services ----------------------------------------------------------------------
THINKALIKE_SANDBOX = env_bool("THINKALIKE_SANDBOX")
# Where the sandbox is reached by server-side calls (token exchange, sync). It runs in this same
# Django process under /sandbox/, so in the demo it is this server's own address.
THINKALIKE_SANDBOX_URL = os.environ.get("THINKALIKE_SANDBOX_URL", "http://127.0.0.1:8000/sandbox")
# The demo only: providers that declare a stand-in (Stripe, SendGrid, Telegram...) send their
# requests to it under THINKALIKE_SANDBOX_URL/stand-ins/<slug>/ instead of the real API, so
# every card can be clicked through offline. Never on in production.
THINKALIKE_STAND_INS = env_bool("THINKALIKE_STAND_INS")
THINKALIKE_SANDBOX_CLIENT_ID = "thinkalike-demo"
THINKALIKE_SANDBOX_CLIENT_SECRET = os.environ.get(
    "THINKALIKE_SANDBOX_CLIENT_SECRET", "sandbox-demo-client-secret"
)
# The sandbox client's registered redirect URIs, matched exactly as a real authorisation server
# does. The callback on the sandbox's own origin (THINKALIKE_SANDBOX_URL) is always registered.
THINKALIKE_SANDBOX_REDIRECT_URIS = env_list(
    "THINKALIKE_SANDBOX_REDIRECT_URIS",
    "http://127.0.0.1:8000/accounts/sandbox/login/callback/,"
    "http://localhost:8000/accounts/sandbox/login/callback/",
)
THINKALIKE_HTTP_TIMEOUT = (5.0, float(os.environ.get("THINKALIKE_HTTP_READ_TIMEOUT", "20")))
THINKALIKE_HTTP_MAX_RETRIES = 3
THINKALIKE_HTTP_BACKOFF_BASE = 0.5
THINKALIKE_HTTP_BACKOFF_CAP = 30.0
# A Retry-After longer than this ends the run early ("try again later") instead of waiting.
THINKALIKE_MAX_RETRY_AFTER = 60.0
# The longest a provider's answer (Retry-After, X-RateLimit-Reset) may block requests or push
# back the next sync: one hostile header must not stop a provider for days.
THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS = int(
    os.environ.get("THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS", "3600"))
# A provider response body larger than this (after decompression) is bad provider data.
THINKALIKE_MAX_RESPONSE_BYTES = int(os.environ.get("THINKALIKE_MAX_RESPONSE_BYTES",
                                                   str(10 * 1024 * 1024)))
# Shared per-provider request budgets (integrations/ratelimit.py): database or Redis.
THINKALIKE_RATE_BUDGETS = env_bool("THINKALIKE_RATE_BUDGETS", True)
# The external-API proxy (integrations/proxy/conf.py has the defaults): a per-person rate a
# minute overriding a provider's (THINKALIKE_PROXY_RATE_<SLUG>), the stale bound, the size cap.
globals().update({name: int(value) for name, value in os.environ.items()
                  if name.startswith(("THINKALIKE_PROXY_RATE_", "THINKALIKE_PROXY_STALE_SECONDS",
                                      "THINKALIKE_PROXY_MAX_BYTES")) and value.isdigit()})


def parse_rate(value: str) -> tuple[int, float] | None:
    """ "100/10" -> (100, 10.0): requests per seconds; "" or "off" -> None."""
    if not value or value.strip().lower() == "off":
        return None
    requests_, _, seconds = value.partition("/")
    return int(requests_), float(seconds or 1)


THINKALIKE_SANDBOX_RATE_LIMIT = parse_rate(os.environ.get("THINKALIKE_SANDBOX_RATE_LIMIT",
                                                          "100/10"))
THINKALIKE_REFRESH_MARGIN_SECONDS = 300
# One worker at a time renews a token (tokens.py). The lease outlives the token request (the
# HTTP timeout is checked against it), so only a dead or stalled holder loses it; the others
# wait for it, at most THINKALIKE_REFRESH_WAIT_SECONDS, then try again later.
THINKALIKE_REFRESH_LEASE_SECONDS = 30
THINKALIKE_REFRESH_WAIT_SECONDS = 60  # past a dead holder's lease (50 s with the default timeouts)
# An outbound request inside a database transaction (txguard.py) raises when on, and is logged
# as an error when off (the production default, so a missed case slows, never fails, a sync).
THINKALIKE_FORBID_NETWORK_IN_TRANSACTION = env_bool(
    "THINKALIKE_FORBID_NETWORK_IN_TRANSACTION", DEBUG)
THINKALIKE_SYNC_INTERVAL_MINUTES = int(os.environ.get("THINKALIKE_SYNC_INTERVAL_MINUTES", "360"))
# Every active connection is tested this often (integrations/connection_tests.py), the tests
# spread over the interval; the schedule's tick runs every few minutes and, per provider, uses
# at most this share of the provider's declared rate budget for the tick, so tests never starve
# syncs.
THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES = int(
    os.environ.get("THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES", "360"))
THINKALIKE_CONNECTION_TEST_TICK_MINUTES = 5  # keep equal to the schedule's (setup_schedules)
THINKALIKE_CONNECTION_TEST_BUDGET_SHARE = float(
    os.environ.get("THINKALIKE_CONNECTION_TEST_BUDGET_SHARE", "0.1"))
THINKALIKE_CONNECTION_TESTS_PER_TICK = 200  # all providers together, whatever their budgets
# Seconds a tick may spend waiting between paced tests (see integrations/connection_tests.py):
# beyond, the rest wait for the next tick rather than hold a worker that syncs need.
THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS = int(
    os.environ.get("THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS", "60"))
# (connect, read) seconds of one periodic test's request; it is not retried either.
THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT = (3.0, 10.0)
# Where e-mails link to (the notices' "see the connection" link): scheme and host, no path.
THINKALIKE_SITE_URL = os.environ.get("THINKALIKE_SITE_URL", "http://localhost:8000")
# A claim older than this is considered lost (worker killed, Redis task dropped) and re-queued.
# A running sync renews its claim every 15 s, so only dead or never-started runs go stale; a
# run that starts after being superseded stops at once (its claim token is no longer current).
THINKALIKE_SYNC_CLAIM_TTL_SECONDS = 600
# A checkpoint older than this is not resumed (the provider's pages may have shifted).
THINKALIKE_CHECKPOINT_MAX_AGE_SECONDS = 6 * 3600
# Incremental passes cannot see deletions: a full pass runs at least this often.
THINKALIKE_FULL_SYNC_EVERY_HOURS = 24
THINKALIKE_API_CALL_RETENTION_DAYS = 30
# Daily usage counters (UsageDay): kept far longer than the request log, for the charts.
THINKALIKE_USAGE_RETENTION_DAYS = 400
# The staff health digest (integrations/digest.py) goes out at the first hourly run from this
# hour (UTC) on; a failed or partial send is completed by the following runs that day.
THINKALIKE_DIGEST_HOUR = int(os.environ.get("THINKALIKE_DIGEST_HOUR", "7"))
# An action run still pending or running after this long was left by a dead worker: it is closed
# as failed (never retried; a write may have reached the provider). Well past the longest a
# request can take with its retries.
THINKALIKE_ACTION_STALE_SECONDS = int(os.environ.get("THINKALIKE_ACTION_STALE_SECONDS", "600"))
# Exports (privacy/export.py): zips written to this private directory, never served by a static
# or media URL (only the owner's download view reads them), and deleted this long after they
# are ready.
THINKALIKE_EXPORT_DIR = Path(os.environ.get("THINKALIKE_EXPORT_DIR", BASE_DIR / "var" / "exports"))
THINKALIKE_EXPORT_TTL_HOURS = int(os.environ.get("THINKALIKE_EXPORT_TTL_HOURS", "24"))
# An export whose worker has not renewed its lease for this long was left by a dead worker: the
# next request (or the expiry schedule) queues it again.
THINKALIKE_EXPORT_LEASE_SECONDS = 300
# A person starts at most one export per this many minutes after the last one finished.
THINKALIKE_EXPORT_COOLDOWN_MINUTES = int(os.environ.get("THINKALIKE_EXPORT_COOLDOWN_MINUTES", "10"))
THINKALIKE_USER_AGENT = "ThinkAlikeConnectedServices/0.1 (+https://thinkalike.example/contact)"
THINKALIKE_CONSENT_POLICY_VERSION = "2026-11"
# Hosts or CIDRs (comma-separated) that user-given base URLs may reach although they are not
# public, over http too: an operator's test server or internal API (integrations/addresses.py).
THINKALIKE_OUTBOUND_ALLOW = env_list("THINKALIKE_OUTBOUND_ALLOW")

# OAuth client credentials of any provider, from <ALLAUTH ID>_CLIENT_ID and _CLIENT_SECRET
# (SPOTIFY_CLIENT_ID, GITHUB_CLIENT_ID, ANILIST_CLIENT_ID...): a new provider needs no line here.
# The REST API (integrations/api/): session auth for the site's own pages (CSRF-checked by DRF's
# SessionAuthentication) and personal API tokens, stored hashed by knox in our own model.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token class comes first: its WWW-Authenticate header makes a request without
        # credentials a 401 (with only session auth first, DRF would answer 403).
        "integrations.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "integrations.api.pagination.NewestFirstCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["integrations.api.throttling.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "per_token": os.environ.get("THINKALIKE_API_THROTTLE", "600/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["integrations.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "integrations.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
KNOX_TOKEN_MODEL = "integrations.ApiToken"
# knox's own migrations create its AuthToken table even when the model is swapped for ours; that
# unused table's foreign key to the user table would then block flushing users on PostgreSQL.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    # A recognisable prefix lets secret scanners (and people) tell a leaked token for what it is.
    "TOKEN_PREFIX": "ta_",
    "TOKEN_TTL": None,  # every token gets the expiry its owner chose (api_tokens.py)
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ThinkAlike Connected Services API",
    "DESCRIPTION": (
        "Connect outside services, sync them, decide what each purpose may use, and read the "
        "result. Authenticate with a personal API token: `Authorization: Bearer ta_...`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "integrations.api.serializers.STATUS_CHOICES",
        "LibraryStatusEnum": "library.statuses.STATUSES",
    },
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.api.schema.add_error_responses",
    ],
}
# Where an OAuth connect started through the API may send the person back to when it ends:
# exact origins ("https://app.example.com"); this site's own paths are always allowed.
THINKALIKE_API_RETURN_TO_ORIGINS = env_list("THINKALIKE_API_RETURN_TO_ORIGINS")
THINKALIKE_API_TOKEN_MAX_DAYS = int(os.environ.get("THINKALIKE_API_TOKEN_MAX_DAYS", "365"))

SOCIALACCOUNT_PROVIDERS = {
    name[: -len("_CLIENT_ID")].lower(): {
        "APPS": [{"client_id": value,
                  "secret": os.environ.get(name[: -len("_CLIENT_ID")] + "_CLIENT_SECRET", "")}],
    }
    for name, value in os.environ.items()
    if name.endswith("_CLIENT_ID") and value and not name.startswith("THINKALIKE_")
}
SOCIALACCOUNT_PROVIDERS["sandbox"] = {
    "OAUTH_PKCE_ENABLED": True,
    "APPS": [{"client_id": THINKALIKE_SANDBOX_CLIENT_ID,
              "secret": THINKALIKE_SANDBOX_CLIENT_SECRET}],
}

# --- Internationalisation, static files ------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Opt-in, and only behind a proxy that terminates TLS and sets X-Forwarded-Proto itself
# (overwriting what the client sent): trusting the header otherwise lets any client claim https.
# With it, request.is_secure() is true behind the proxy, so OAuth redirect URIs (built by
# allauth from the request) are https and SECURE_SSL_REDIRECT does not loop.
if env_bool("THINKALIKE_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# HSTS is sticky in browsers for its whole lifetime, so it stays off until the operator sets it
# (README: start small, then a year).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")

# One line per event. Every record goes to the root's one handler: Django's "django" logger
# comes with a console handler of its own (active with DEBUG) and "django.server" with another,
# so they are re-declared without handlers and records reach the root, and print, once. The
# handler's filters keep expected refusals (a 403, a bad Host) to one line without a traceback,
# and replace secrets in messages (a bot token in a logged URL path).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line_refusals": {"()": "thinkalike.logs.DropExpectedTraceback"},
                "redact_secrets": {"()": "thinkalike.logs.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["one_line_refusals", "redact_secrets"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        # django-q2 logs as "django-q" (a hyphen); its chatter stays at WARNING.
        "django-q": {"level": "WARNING"},
    },
}
