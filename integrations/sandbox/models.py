"""The sandbox's own state: fault knobs, authorisation codes, token grants and a request log.

Codes and tokens are stored only as SHA-256 hashes: the sandbox hands the plaintext to the
client once and can never show it again, like a real authorisation server should.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

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
    rate_limit_requests = models.PositiveIntegerField(
        "rate limit (requests per window)", default=0,
        help_text="Enforced per OAuth client over a sliding window; 0 = off.",
    )
    rate_limit_window_seconds = models.FloatField(
        "rate limit window (s)", default=1.0,
        validators=[MinValueValidator(0.01), MaxValueValidator(3600.0)],
    )
    log_requests = models.BooleanField(
        "log requests", default=False,
        help_text="Log every data-API request even when the rate limit is off.",
    )
    data_revision = models.PositiveIntegerField(
        "data revision", default=0,
        help_text="Above 0, every 7th track is retitled and updated (see data.py).",
    )
    reject_cursors = models.BooleanField(
        "reject cursors", default=False, help_text="Answer any updated_since with 410 Gone."
    )
    malformed_page = models.PositiveIntegerField(
        "malformed tracks page", default=0,
        help_text="This page of me/tracks (1-based) is invalid JSON; 0 = off.",
    )
    truncated_page = models.PositiveIntegerField(
        "truncated tracks page", default=0,
        help_text="This page of me/tracks (1-based) is cut in half; 0 = off.",
    )
    revoke_after_requests = models.PositiveIntegerField(
        "revoke after requests", default=0,
        help_text="Revoke every grant once this many data-API requests were answered after "
                  "the knobs were saved; 0 = off.",
    )
    # Bookkeeping for revoke_after_requests. Every save() moves saved_at, and the count only
    # continues while answered_since still equals it, so saving the knobs restarts the count
    # however they were saved (the form, the admin, a test's knobs.save()).
    saved_at = models.DateTimeField("saved at", auto_now=True)
    answered_requests = models.PositiveIntegerField(
        "data-API requests answered", default=0, editable=False
    )
    answered_since = models.DateTimeField(
        "answered requests counted since", null=True, editable=False
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

    def is_live(self) -> bool:
        return not self.revoked and self.access_expires_at > timezone.now()


class SandboxRequest(models.Model):
    """One data-API request, logged while the rate limit or ``log_requests`` is on.

    ``counted`` says whether it counts against the rate limit: a 304 and a request the limit
    itself refused do not.
    """

    at = models.FloatField("at (Unix time, seconds)")
    client_id = models.CharField("client id", max_length=200, blank=True)
    account = models.CharField("sandbox account", max_length=40, blank=True)
    path = models.CharField("path", max_length=200)
    status = models.PositiveSmallIntegerField("HTTP status")
    counted = models.BooleanField("counted against the limit")

    class Meta:
        verbose_name = "logged request"
        indexes = [
            # Admission: one client's counted requests in the last window.
            models.Index(fields=["client_id", "counted", "at"], name="sandbox_request_window"),
        ]

    def __str__(self):
        return f"{self.status} {self.path} ({self.client_id or 'no client'})"


class StandInListEntry(models.Model):
    """One anime or manga on a list kept by the MyAnimeList or Kitsu stand-in
    (standins/anime_lists.py), in that service's own terms: its status words, its score
    (MyAnimeList 0-10 with 0 unscored; Kitsu's ratingTwenty 2-20 or null) and its media ids.
    A PATCH to the stand-in changes the row, so the next GET answers the change."""

    class Service(models.TextChoices):
        MYANIMELIST = "myanimelist", "MyAnimeList"
        KITSU = "kitsu", "Kitsu"

    class Kind(models.TextChoices):
        ANIME = "anime", "Anime"
        MANGA = "manga", "Manga"

    service = models.CharField("service", max_length=20, choices=Service.choices)
    account = models.CharField("account id at the service", max_length=40)
    kind = models.CharField("kind", max_length=5, choices=Kind.choices)
    media_id = models.PositiveIntegerField("media id at the service")
    entry_id = models.PositiveIntegerField("library entry id (Kitsu)", null=True, blank=True)
    mal_id = models.PositiveIntegerField("MyAnimeList id", null=True, blank=True)
    title = models.CharField("main (romanised) title", max_length=200)
    title_en = models.CharField("English title", max_length=200, blank=True)
    title_ja = models.CharField("Japanese title", max_length=200, blank=True)
    total = models.PositiveIntegerField("episodes or chapters", null=True, blank=True)
    status = models.CharField("status (the service's word)", max_length=20)
    progress = models.PositiveIntegerField("episodes watched or chapters read", default=0)
    score = models.PositiveSmallIntegerField("score (0-10, or ratingTwenty)", null=True,
                                             blank=True)
    repeating = models.BooleanField("rewatching or rereading", default=False)
    genres = models.JSONField("genres (MyAnimeList) or categories (Kitsu)", default=list)
    updated_at = models.DateTimeField("updated at")

    class Meta:
        verbose_name = "stand-in list entry"
        verbose_name_plural = "stand-in list entries"
        constraints = [
            models.UniqueConstraint(fields=["service", "account", "kind", "media_id"],
                                    name="sandbox_standin_entry_unique_media"),
            models.UniqueConstraint(fields=["service", "entry_id"],
                                    condition=models.Q(entry_id__isnull=False),
                                    name="sandbox_standin_entry_unique_entry"),
        ]

    def __str__(self):
        return f"{self.service} {self.kind} {self.media_id}: {self.title}"
