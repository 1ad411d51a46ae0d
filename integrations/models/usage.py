from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .connections import Connection


class UsageDay(models.Model):
    """How much one connection (or a provider, for requests made before a connection exists)
    used its provider on one UTC day: for staff figures and the person's usage chart.

    Raised by integrations.usage.usage_count with F() expressions in one UPDATE (an INSERT
    only on the first request of a day), where the ApiCall row of a request is written.
    Kept USAGE_RETENTION_DAYS (400) days; ApiCall rows are kept far less long. A disconnect
    folds a connection's rows into its provider's connection-less rows
    (integrations.usage.usage_fold_into_provider) before deleting it, and so does every other
    deletion of a connection (a pre_delete receiver); SET_NULL is only the backstop.
    """

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="usage_days", verbose_name=_("connection"),
    )
    provider = models.CharField(_("provider"), max_length=50)
    day = models.DateField(_("day"))
    requests = models.PositiveIntegerField(_("requests"), default=0)
    errors = models.PositiveIntegerField(
        _("errors"), default=0, help_text=_("Status 400 or more, or no answer at all."))
    rate_limit_waits = models.PositiveIntegerField(
        _("rate-limit waits"), default=0,
        help_text=_("Requests our budget made wait (or refused), or the provider answered 429."))
    wait_seconds = models.FloatField(_("seconds waited"), default=0.0)

    class Meta:
        verbose_name = _("usage per day")
        verbose_name_plural = _("usage per day")
        ordering = ["-day", "provider"]
        constraints = [
            # NULLs are distinct in a unique constraint: the rows without a connection need a
            # constraint of their own, or two of them could exist for one provider and day.
            models.UniqueConstraint(fields=["connection", "provider", "day"],
                                    condition=Q(connection__isnull=False),
                                    name="integrations_usageday_unique_connection_day"),
            models.UniqueConstraint(fields=["provider", "day"],
                                    condition=Q(connection__isnull=True),
                                    name="integrations_usageday_unique_provider_day"),
        ]
        indexes = [models.Index(fields=["day", "provider"], name="integrations_usage_day_prov")]

    def __str__(self) -> str:
        return f"{self.provider} {self.day} ({self.requests} requests)"


class StaffDigest(models.Model):
    """The staff health digest of one day: one row per day, so it goes once a day.

    A run holds the day while it sends (``claimed_until``, a lease a dead worker loses), adds
    each address to ``sent_to`` as soon as its message went out, and sets ``finished_at`` once
    every recipient has it. A run after a failure sends only to those not in ``sent_to``.
    """

    day = models.DateField(_("day"), unique=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    sent_at = models.DateTimeField(_("started"), auto_now_add=True)
    sent_to = models.JSONField(_("sent to"), default=list, blank=True)
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff health digest")
        verbose_name_plural = _("staff health digests")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"digest of {self.day}"


class HealthOverview(Connection):
    """No table: the admin's entry for the staff health overview, and its view permission."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("health overview")
        verbose_name_plural = _("health overview")
