from django.db import models
from django.utils.translation import gettext_lazy as _


class LibraryConflict(models.Model):
    """Both sides changed one field of an entry since the last sync: which values, which won,
    when. Recorded so a conflict is shown, never silent."""

    class Field(models.TextChoices):
        STATUS = "status", _("Status")
        PROGRESS = "progress", _("Progress")
        SCORE = "score", _("Score")
        ENTRY = "entry", _("Whole entry (a removal)")

    class Winner(models.TextChoices):
        LOCAL = "local", _("This library")
        REMOTE = "remote", _("The service")

    entry = models.ForeignKey(
        "library.LibraryEntry", on_delete=models.CASCADE, related_name="conflicts",
        verbose_name=_("entry"),
    )
    field = models.CharField(_("field"), max_length=20, choices=Field.choices)
    # JSON: a field's value, or for "entry" the fields as an object, null meaning removed.
    local_value = models.JSONField(_("value here"), null=True, blank=True)
    remote_value = models.JSONField(_("value on the service"), null=True, blank=True)
    local_changed_at = models.DateTimeField(_("changed here"), null=True, blank=True)
    remote_changed_at = models.DateTimeField(_("changed on the service"), null=True, blank=True)
    winner = models.CharField(_("winner"), max_length=10, choices=Winner.choices)
    # The provider's slug, not a link: the record outlives a disconnected connection.
    provider = models.CharField(_("provider"), max_length=50)
    detected_at = models.DateTimeField(_("detected"), auto_now_add=True)
    seen_at = models.DateTimeField(_("seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("library conflict")
        verbose_name_plural = _("library conflicts")
        ordering = ["-detected_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.field} of {self.entry} on {self.provider}: {self.winner} won"


class LibraryPush(models.Model):
    """A local change on its way to one connection's service, as an action run."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        WAITING_RECONNECT = "waiting_reconnect", _("Waiting for a reconnect")

    entry = models.ForeignKey(
        "library.LibraryEntry", on_delete=models.CASCADE, related_name="pushes",
        verbose_name=_("entry"),
    )
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="library_pushes",
        verbose_name=_("connection"),
    )
    values = models.JSONField(_("values"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    action_run = models.ForeignKey(
        "integrations.ActionRun", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="library_pushes", verbose_name=_("action run"),
    )
    error = models.TextField(_("error (redacted)"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("library push")
        verbose_name_plural = _("library pushes")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The pusher's queue: one connection's pushes not yet sent.
            models.Index(fields=["connection", "state"], name="library_push_queue"),
        ]

    def __str__(self) -> str:
        return f"push of {self.entry_id} to {self.connection_id} ({self.state})"
