from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notice(models.Model):
    """One thing the person is told in the app (and perhaps by e-mail): a connection started
    failing, needs reconnecting, or works again. Plain words only; never a secret."""

    class Kind(models.TextChoices):
        FAILING = "failing", _("Connection failing")
        NEEDS_RECONNECT = "needs_reconnect", _("Connection needs reconnecting")
        RECOVERED = "recovered", _("Connection working again")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices",
        verbose_name=_("user"),
    )
    # Kept after a disconnect (SET_NULL) with the provider's slug, so the notice still says
    # which service it was about.
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="notices", verbose_name=_("connection"),
    )
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=20, choices=State.choices,
                             default=State.OPEN)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    created_at = models.DateTimeField(_("created"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The nav badge's unread count and the notices page (unread first), per person.
            models.Index(fields=["user", "read_at"], name="notices_user_unread"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationSettings(models.Model):
    """What a person wants to be told by e-mail. No row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings",
        verbose_name=_("user"),
    )
    email_on_health = models.BooleanField(
        _("e-mail me when a connection fails"), default=True,
        help_text=_("An e-mail when a connection starts failing or needs reconnecting."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"Notification settings of {self.user}"
