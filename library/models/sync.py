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
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        WAITING_RECONNECT = "waiting_reconnect", _("Waiting for a reconnect")
        # A later merge found the service holds what it needs (its own change won, say).
        SUPERSEDED = "superseded", _("Not needed any more")

    entry = models.ForeignKey(
        "library.LibraryEntry", on_delete=models.CASCADE, related_name="pushes",
        verbose_name=_("entry"),
    )
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="library_pushes",
        verbose_name=_("connection"),
    )
    # What the service is to hold, in its own terms (library/terms.py).
    values = models.JSONField(_("values"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    action_run = models.ForeignKey(
        "integrations.ActionRun", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="library_pushes", verbose_name=_("action run"),
    )
    error = models.TextField(_("error (redacted)"), blank=True)
    # Each attempt is its own action run (idempotency key push + attempt): a retry after a
    # failure writes again, a second delivery of one attempt does not.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
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


class ListSyncSettings(models.Model):
    """Which fields of a list service's entries sync with the library, both ways. Absent
    means all of them; "sync automatically" is the connection's own ``auto_sync``."""

    connection = models.OneToOneField(
        "integrations.Connection", on_delete=models.CASCADE, related_name="list_sync_settings",
        verbose_name=_("connection"),
    )
    sync_status = models.BooleanField(_("sync status"), default=True)
    sync_progress = models.BooleanField(_("sync progress"), default=True)
    sync_ratings = models.BooleanField(_("sync ratings"), default=True)
    # When the last merge of this connection began: the next looks only at items changed
    # since (None: all of them, as after a switch was turned on again).
    merged_at = models.DateTimeField(_("last merged"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("list sync settings")
        verbose_name_plural = _("list sync settings")

    def __str__(self) -> str:
        return f"list sync settings of {self.connection_id}"

    def fields(self) -> tuple[str, ...]:
        """The library fields that sync with this service."""
        return tuple(field for field, on in (("status", self.sync_status),
                                             ("progress", self.sync_progress),
                                             ("score", self.sync_ratings)) if on)
