from django.db import models
from django.utils.translation import gettext_lazy as _


class ProxyStat(models.Model):
    """What the external-API proxy answered for one connection on one day, by cache outcome.

    Upstream requests are ApiCall rows already; hits make none, so this is where staff see the
    hit rate. Counters are raised with F() expressions: concurrent requests never lose counts.
    """

    # SET_NULL, with the provider kept beside it: a disconnect or an account deletion leaves
    # the staff's cache figures as they were, with no link to the person. (Rows without a
    # connection may repeat per provider and day: the figures are sums.)
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="proxy_stats", verbose_name=_("connection"),
    )
    provider = models.CharField(_("provider"), max_length=50, blank=True, default="")
    day = models.DateField(_("day"))
    hits = models.PositiveIntegerField(_("hits"), default=0)
    misses = models.PositiveIntegerField(_("misses"), default=0)
    refreshes = models.PositiveIntegerField(_("refreshes"), default=0)
    stale = models.PositiveIntegerField(_("stale answers"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)

    class Meta:
        verbose_name = _("proxy statistic")
        verbose_name_plural = _("proxy statistics")
        ordering = ["-day", "connection"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "day"],
                                    name="integrations_proxystat_unique_day"),
        ]

    def __str__(self) -> str:
        return f"proxy {self.day} of {self.connection_id}"

    def save(self, *args, **kwargs) -> None:
        if not self.provider and self.connection_id is not None:
            self.provider = self.connection.provider  # the figures are summed by provider
        super().save(*args, **kwargs)

    @property
    def hit_rate(self) -> float | None:
        """Hits among the answers given from the cache or upstream (errors left out)."""
        answered = self.hits + self.misses + self.refreshes + self.stale
        return self.hits / answered if answered else None
