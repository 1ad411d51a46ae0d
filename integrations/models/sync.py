from django.db import models
from django.utils.translation import gettext_lazy as _


class SyncRun(models.Model):
    """One attempt to sync one connection, with its counters and outcome."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        MANUAL = "manual", _("Sync now")
        CONNECT = "connect", _("First sync after connecting")
        WEBHOOK = "webhook", _("Webhook")
        COMMAND = "command", _("Command")
        API = "api", _("API")

    class Mode(models.TextChoices):
        FULL = "full", _("Full")
        INCREMENTAL = "incremental", _("Incremental")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly done")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.SKIPPED)

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="sync_runs",
        verbose_name=_("connection"),
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.FULL)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    fetched = models.PositiveIntegerField(_("fetched"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    streams = models.JSONField(
        _("streams"), default=dict, blank=True,
        help_text=_("Per stream: status, reason when skipped, and counters."),
    )
    progress = models.CharField(_("progress"), max_length=200, blank=True)
    claim_token = models.UUIDField(
        _("claim token"), null=True, blank=True,
        help_text=_("The connection claim this run holds; it renews the lease while it runs."),
    )
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    error_message = models.TextField(_("error message (redacted)"), blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-queued_at", "-pk"]
        indexes = [
            # "Latest run of each connection" on Connected Services and in the admin.
            models.Index(fields=["connection", "-queued_at"], name="integrations_run_latest"),
            # The staff overview's "most common errors since ..." (health_report.top_errors):
            # only failed runs, by time, so it reads the window's errors and nothing else.
            models.Index(fields=["queued_at"], condition=~models.Q(error_code=""),
                         name="integrations_run_errors"),
        ]

    def __str__(self) -> str:
        return f"sync #{self.pk} of {self.connection_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class StreamState(models.Model):
    """Where a stream's sync got to: cursor, ``since`` timestamp, ETag, page checkpoint."""

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="stream_states",
        verbose_name=_("connection"),
    )
    stream = models.CharField(_("stream"), max_length=50)
    cursor = models.JSONField(_("cursor"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stream state")
        verbose_name_plural = _("stream states")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "stream"], name="integrations_streamstate_unique_stream"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream} of {self.connection_id}"
