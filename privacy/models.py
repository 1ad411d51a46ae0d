from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DataExport(models.Model):
    """One zip of everything held about a person, built in the background, kept for a while.

    At most one export per person is queued or running (the constraint below); a worker holds
    it with ``claim_token`` and renews ``heartbeat_at`` with each progress update, so an export
    left by a killed worker is taken over once its lease is stale (privacy/export_services.py).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    progress_done = models.PositiveBigIntegerField(_("rows written"), default=0)
    progress_total = models.PositiveBigIntegerField(_("rows to write"), default=0)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    # Relative to settings.THINKALIKE_EXPORT_DIR, a private directory no URL serves.
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    claim_token = models.UUIDField(_("claim token"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("lease renewed"), null=True, blank=True,
        help_text=_("Set when queued and renewed by the worker; a stale one is taken over."),
    )

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status__in=["queued", "running"]),
                name="privacy_dataexport_one_active_per_user",
            ),
        ]
        indexes = [
            # The expiry schedule: ready exports whose time is up.
            models.Index(fields=["status", "expires_at"], name="privacy_export_expiry"),
        ]

    def __str__(self) -> str:
        return f"export #{self.pk} of {self.user} ({self.status})"

    @property
    def path(self) -> Path | None:
        """Where the zip is (or will be) on disk; None before a worker named it."""
        if not self.file_name:
            return None
        return Path(settings.THINKALIKE_EXPORT_DIR) / self.file_name

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.progress_total:
            return 0
        return min(99, self.progress_done * 100 // self.progress_total)


class PasswordTrySlot(models.Model):
    """One of a person's PASSWORD_TRIES slots for the API's destructive endpoints
    (privacy/password_tries.py): claimed by a try, free again an hour after its claim.

    A table, not the cache: the database cache culls a third of its keys once full (and Redis
    may evict), which would hand out fresh tries to whoever fills the cache first.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("user"),
    )
    slot = models.PositiveSmallIntegerField(_("slot"))
    claimed_at = models.DateTimeField(_("claimed at"))

    class Meta:
        verbose_name = _("password try")
        verbose_name_plural = _("password tries")
        constraints = [
            models.UniqueConstraint(fields=["user", "slot"], name="privacy_passwordtry_unique"),
        ]

    def __str__(self) -> str:
        return f"try {self.slot} of {self.user_id}"
