from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField


class OAuthClientApp(models.Model):
    """A person's own OAuth app (client id and secret) for one provider.

    Their connect flow then uses it instead of the operator's app from the environment, and
    the tokens it issued are refreshed and revoked with it (``Credential.client_app``). Only
    providers declaring ``personal_app`` accept one (integrations/oauth_apps.py checks).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_client_apps",
        verbose_name=_("user"),
    )
    provider = models.CharField(_("provider"), max_length=50)
    client_id = models.CharField(_("client id"), max_length=255)
    client_secret = EncryptedTextField(_("client secret"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("personal OAuth app")
        verbose_name_plural = _("personal OAuth apps")
        constraints = [
            models.UniqueConstraint(fields=["user", "provider"],
                                    name="oauthclientapp_one_per_user_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} app {self.client_id}"

    @property
    def has_secret(self) -> bool:
        """A secret is stored and a configured key reads it."""
        return bool(self.client_secret)
