from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiCall(models.Model):
    """One outbound HTTP request: where it went and how it ended. Never a query string or body.

    A request the external-API proxy made also names the person who asked for it and what the
    proxy's cache made of the ask (a miss, or a refresh the caller forced).
    """

    class CacheOutcome(models.TextChoices):
        NONE = "", _("Not through the proxy")
        MISS = "miss", _("Cache miss")
        REFRESH = "refresh", _("Refresh asked for")

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="api_calls", verbose_name=_("connection"),
    )
    provider = models.CharField(_("provider"), max_length=50)
    method = models.CharField(_("method"), max_length=10)
    host = models.CharField(_("host"), max_length=255)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    retries = models.PositiveSmallIntegerField(_("retries"), default=0)
    error = models.CharField(_("error"), max_length=200, blank=True)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("asked for by"),
    )
    cache_outcome = models.CharField(
        _("proxy cache"), max_length=10, choices=CacheOutcome.choices, blank=True, default="",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("outbound request")
        verbose_name_plural = _("outbound requests")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.host}{self.path} -> {self.status_code}"


class AuditEvent(models.Model):
    """An audit line for a change to a connection that outlives the connection (e.g. disconnect)."""

    class Action(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        RECONNECTED = "reconnected", _("Reconnected")
        DISCONNECTED = "disconnected", _("Disconnected")
        REVOKED = "revoked", _("Token revoked at provider")
        REVOKE_FAILED = "revoke_failed", _("Revocation failed")
        MARKED_REAUTH = "marked_reauth", _("Marked for re-authorisation")
        DATA_PURGED = "data_purged", _("Imported data deleted")
        KEYS_ROTATED = "keys_rotated", _("Encryption keys rotated")
        ACTION_SUCCEEDED = "action_succeeded", _("Action done at provider")
        ACTION_FAILED = "action_failed", _("Action failed")
        SETTINGS_CHANGED = "settings_changed", _("Sync settings changed")
        APP_SAVED = "app_saved", _("Personal OAuth app saved")
        APP_DELETED = "app_deleted", _("Personal OAuth app removed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="integration_audit_events", verbose_name=_("user"),
    )
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    connection_ref = models.PositiveBigIntegerField(
        _("connection id"), null=True, blank=True,
        help_text=_("Kept as a plain number so the line survives the connection."),
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    message = models.CharField(_("message"), max_length=500, blank=True)
    actor = models.CharField(_("actor"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.provider} ({self.at:%Y-%m-%d %H:%M})"
