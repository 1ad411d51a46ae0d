from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .purposes import PURPOSES

PURPOSE_CHOICES = [(p.slug, p.name) for p in PURPOSES.values()]
ALL_PROVIDERS = ""  # the provider value of a grant that covers every provider


class ConsentGrant(models.Model):
    """The current answer of one person for one purpose, for one provider or for all ("")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_grants",
        verbose_name=_("user"),
    )
    provider = models.CharField(
        _("provider"), max_length=50, blank=True, help_text=_("Empty means every provider.")
    )
    purpose = models.CharField(_("purpose"), max_length=50, choices=PURPOSE_CHOICES)
    granted = models.BooleanField(_("granted"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider", "purpose"], name="consent_consentgrant_unique"
            ),
        ]

    def __str__(self) -> str:
        scope = self.provider or "all providers"
        return f"{self.purpose} for {scope}: {'on' if self.granted else 'off'}"


class ConsentEvent(models.Model):
    """Append-only history of consent changes, written in the same transaction as the change."""

    class Source(models.TextChoices):
        PAGE = "page", _("Consent page")
        API = "api", _("API")
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Command")
        # The per-service answer was forgotten because the service was disconnected.
        DISCONNECT = "disconnect", _("Service disconnected")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_events",
        verbose_name=_("user"),
    )
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    purpose = models.CharField(_("purpose"), max_length=50, choices=PURPOSE_CHOICES)
    # None: the per-provider answer was removed; the answer for every provider applies again.
    granted = models.BooleanField(
        _("granted"), null=True, help_text=_("Empty: the per-provider answer was removed.")
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    policy_version = models.CharField(_("policy version"), max_length=20)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        answer = {True: "granted", False: "withdrawn", None: "cleared"}[self.granted]
        return f"{self.purpose} {answer} ({self.at:%Y-%m-%d})"
