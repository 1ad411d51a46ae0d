from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken


class ApiToken(AbstractAuthToken):
    """A personal API token: knox keeps only its hash (``digest``) and the first characters
    (``token_key``) to find it; the token itself is shown once, when it is made.

    The owner names it, chooses when it expires, and sees when it was last used.
    """

    name = models.CharField(_("name"), max_length=100)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…) for {self.user}"

    @property
    def expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
