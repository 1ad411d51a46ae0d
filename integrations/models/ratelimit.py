from django.db import models
from django.utils.translation import gettext_lazy as _


class RateBucket(models.Model):
    """The shared rate budget of one key (a provider, or one connection of a provider).

    ``stamps`` holds the times (Unix seconds) of the requests granted in the current window,
    oldest first, so the budget holds in *any* window, not only aligned ones. Every worker
    process reads and writes it under a row lock; with REDIS_URL the Redis backend is used
    instead and this table stays empty.
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    stamps = models.JSONField(_("granted request times"), default=list, blank=True)
    blocked_until = models.FloatField(
        _("blocked until"), default=0.0,
        help_text=_("Unix time before which no request may start (provider said so)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rate budget")
        verbose_name_plural = _("rate budgets")

    def __str__(self) -> str:
        return self.key
