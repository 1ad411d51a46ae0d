from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionRun(models.Model):
    """One write a person asked of a provider, keyed by the idempotency key of the submission.

    The unique key is what makes a second submission return the first's result instead of
    writing again. Nothing here holds a secret: the input is stored as a redacted summary.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # claimed; nothing sent yet
        RUNNING = "running", _("Running")  # the write may have reached the provider
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="action_runs",
        verbose_name=_("connection"),
    )
    action = models.CharField(_("action"), max_length=50)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    input_summary = models.JSONField(
        _("input (redacted)"), default=dict, blank=True,
        help_text=_("Secret fields replaced, long values cut."),
    )
    # A keyed digest (HMAC) of the checked input: a replay of the key with other input is
    # refused. Blank on runs recorded before it existed: those answer any replay.
    input_hash = models.CharField(_("input hash"), max_length=64, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    summary = models.CharField(_("result"), max_length=500, blank=True)
    error = models.TextField(_("error (redacted)"), blank=True)
    actor = models.CharField(_("actor"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("action run")
        verbose_name_plural = _("action runs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "idempotency_key"],
                name="integrations_actionrun_unique_key",
            ),
        ]
        indexes = [
            # "Recent actions" on the connection page.
            models.Index(fields=["connection", "-created_at"], name="integrations_action_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk} of {self.connection_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
