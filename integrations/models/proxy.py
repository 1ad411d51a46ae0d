from django.db import models
from django.utils.translation import gettext_lazy as _


class ProxyStat(models.Model):
    """What the external-API proxy answered for one connection on one day, by cache outcome.

    Upstream requests are ApiCall rows already; hits make none, so this is where staff see the
    hit rate. Counters are raised with F() expressions: concurrent requests never lose counts.
    """

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="proxy_stats",
        verbose_name=_("connection"),
    )
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

    @property
    def hit_rate(self) -> float | None:
        """Hits among the answers given from the cache or upstream (errors left out)."""
        answered = self.hits + self.misses + self.refreshes + self.stale
        return self.hits / answered if answered else None
