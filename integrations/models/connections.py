from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The states of integrations/health.py (which imports this module, so they are repeated here;
# a test checks both lists agree).
HEALTH_CHOICES = [
    ("healthy", _("Healthy")), ("degraded", _("Degraded")), ("failing", _("Failing")),
    ("needs_reconnect", _("Needs reconnecting")), ("idle", _("Not checked")),
]


class Connection(models.Model):
    """One person's link to one outside service: identity, sync settings and health.

    Secrets never live here; they are in the one-to-one Credential.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        NEEDS_REAUTH = "needs_reauth", _("Needs reconnecting")
        ERROR = "error", _("Error")
        DISABLED = "disabled", _("Disabled")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections",
        verbose_name=_("user"),
    )
    provider = models.CharField(_("provider"), max_length=50)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    external_account_id = models.CharField(_("external account id"), max_length=255)
    account_label = models.CharField(_("account label"), max_length=255, blank=True)
    scopes = models.JSONField(_("scopes granted"), default=list, blank=True)
    social_account = models.OneToOneField(
        "socialaccount.SocialAccount", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="connection", verbose_name=_("allauth account"),
    )
    # Settings the person gave that are not secret (a custom API's base URL and header name):
    # secrets live in the Credential, encrypted.
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    sync_enabled = models.BooleanField(_("sync enabled"), default=True)
    auto_sync = models.BooleanField(_("sync automatically"), default=True)
    stream_settings = models.JSONField(
        _("per-stream toggles"), default=dict, blank=True,
        help_text=_("Stream name to true/false; a stream not listed is on."),
    )
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_sync_status = models.CharField(_("last sync status"), max_length=20, blank=True)
    next_sync_at = models.DateTimeField(_("next sync"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    # Set by the conditional UPDATE that queues a run; cleared when the run ends. It is what
    # keeps two runs of one connection from being queued at once.
    sync_claimed_at = models.DateTimeField(_("sync claimed at"), null=True, blank=True)
    # Which claim holds the connection: the running task renews the lease (sync_claimed_at)
    # only while the token is still its own, so a run whose lease was taken over stops.
    sync_claim_token = models.UUIDField(_("sync claim token"), null=True, blank=True)
    # The health last recorded (integrations/health_record.py), so a change is noticed once:
    # the notices app tells the person when it changes to failing or needs reconnecting.
    # Blank until first recorded.
    health_state = models.CharField(
        _("health"), max_length=20, blank=True, default="", choices=HEALTH_CHOICES,
    )
    health_changed_at = models.DateTimeField(_("health changed"), null=True, blank=True)
    # The periodic connection test (integrations/connection_tests.py): when it last ran, and
    # when it is due next (spread over the interval, claimed by a conditional UPDATE).
    last_tested_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    next_test_at = models.DateTimeField(_("next test"), null=True, blank=True)
    # Periodic tests failed in a row, apart from the syncs' count: a passing test resets it
    # (and a successful sync, which proves the connection works), never the sync failures.
    consecutive_test_failures = models.PositiveIntegerField(
        _("consecutive test failures"), default=0)
    # Why the last periodic test failed, apart from the syncs' ``last_error``: the health's
    # reason quotes this one when the failed tests decide, the syncs' otherwise. A passing
    # test, a successful sync and a (re)connect clear it.
    last_test_error = models.TextField(_("last test error"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["provider", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="integrations_connection_unique_user_provider"
            ),
        ]
        indexes = [
            # The dispatcher's "which connections are due" query.
            models.Index(fields=["status", "next_sync_at"], name="integrations_conn_due"),
            # The periodic test's "which connections are due for a test" query.
            models.Index(fields=["status", "next_test_at"], name="integrations_conn_test_due"),
        ]

    def __str__(self) -> str:
        account = self.account_label or self.external_account_id
        return f"{self.provider_name} for {self.user} ({account})"

    @property
    def provider_name(self) -> str:
        """The provider's display name (the slug only when it is no longer installed)."""
        from integrations.providers.registry import PROVIDERS  # providers import models

        provider = PROVIDERS.get(self.provider)
        return provider.name if provider is not None else self.provider

    def stream_enabled(self, stream_name: str) -> bool:
        return bool(self.stream_settings.get(stream_name, True))
