"""The sandbox's own state: fault knobs, authorisation codes and token grants.

Codes and tokens are stored only as SHA-256 hashes: the sandbox hands the plaintext to the
client once and can never show it again, like a real authorisation server should.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class SandboxKnobs(models.Model):
    """A singleton (pk=1) of fault knobs, read on every request so changes apply at once."""

    latency_ms = models.PositiveIntegerField(
        "latency (ms)", default=0, validators=[MaxValueValidator(30_000)]
    )
    error_rate = models.FloatField("503 error rate", default=0.0, validators=unit_interval)
    rate_limit_rate = models.FloatField(
        "429 rate-limit rate", default=0.0, validators=unit_interval
    )
    retry_after_seconds = models.PositiveIntegerField("Retry-After (seconds)", default=1)
    token_lifetime_seconds = models.PositiveIntegerField("access token lifetime (s)", default=3600)
    rotate_refresh_tokens = models.BooleanField("rotate refresh tokens", default=True)
    # Ids are zero-padded to five digits and the API sorts by id, so cap below 100,000.
    track_count = models.PositiveIntegerField(
        "saved tracks per account", default=120, validators=[MaxValueValidator(99_999)]
    )
    artist_count = models.PositiveIntegerField(
        "top artists per account", default=30, validators=[MaxValueValidator(99_999)]
    )

    class Meta:
        verbose_name = "sandbox knobs"
        verbose_name_plural = "sandbox knobs"

    def __str__(self):
        return "Sandbox knobs"

    @classmethod
    def get(cls) -> "SandboxKnobs":
        knobs, _ = cls.objects.get_or_create(pk=1)
        return knobs


class SandboxAuthCode(models.Model):
    code_hash = models.CharField("code hash (SHA-256)", max_length=64)
    account = models.CharField("sandbox account", max_length=40)
    client_id = models.CharField("client id", max_length=200)
    redirect_uri = models.CharField("redirect URI", max_length=2000)
    scope = models.CharField("granted scope", max_length=500, blank=True)
    code_challenge = models.CharField("PKCE code challenge", max_length=200, blank=True)
    code_challenge_method = models.CharField("PKCE method", max_length=10, blank=True)
    expires_at = models.DateTimeField("expires at")
    used = models.BooleanField("used", default=False)

    class Meta:
        verbose_name = "authorisation code"
        constraints = [
            models.UniqueConstraint(fields=["code_hash"], name="sandbox_authcode_unique_hash"),
        ]

    def __str__(self):
        return f"code for {self.account} ({self.client_id})"


class SandboxGrant(models.Model):
    """One consent: an access token and a refresh token that are revoked together."""

    account = models.CharField("sandbox account", max_length=40)
    client_id = models.CharField("client id", max_length=200)
    scope = models.CharField("granted scope", max_length=500, blank=True)
    access_hash = models.CharField("access token hash (SHA-256)", max_length=64)
    access_expires_at = models.DateTimeField("access token expires at")
    refresh_hash = models.CharField("refresh token hash (SHA-256)", max_length=64)
    revoked = models.BooleanField("revoked", default=False)
    created = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "token grant"
        constraints = [
            models.UniqueConstraint(fields=["access_hash"], name="sandbox_grant_unique_access"),
            models.UniqueConstraint(fields=["refresh_hash"], name="sandbox_grant_unique_refresh"),
        ]

    def __str__(self):
        return f"grant for {self.account} ({self.client_id})"

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()
