from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField, Undecryptable

SECRET_FIELDS = ("access_token", "refresh_token", "secret")


class Credential(models.Model):
    """The secrets of a Connection, Fernet-encrypted at rest, plus metadata staff may see.

    Only the Encrypted* fields hold secrets. ``secret`` holds a JSON object (API key, basic
    password, bot token) serialised then encrypted. Ciphertext is random, so these columns
    cannot be filtered on. A secret no configured key decrypts loads as ``Undecryptable``
    (see ``is_readable``); code that needs the secrets loads them through
    ``integrations.credentials.credential_for_use``.
    """

    connection = models.OneToOneField(
        "integrations.Connection", on_delete=models.CASCADE, related_name="credential",
        verbose_name=_("connection"),
    )
    access_token = EncryptedTextField(_("access token"), blank=True, default="")
    refresh_token = EncryptedTextField(_("refresh token"), blank=True, default="")
    secret = EncryptedTextField(_("other secret (JSON)"), blank=True, default="")
    token_type = models.CharField(_("token type"), max_length=40, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    # The refresh lease: one worker at a time calls the token endpoint. Taken and released with
    # conditional UPDATEs that commit at once, so no transaction is open during the request.
    refresh_lease_token = models.UUIDField(_("refresh lease token"), null=True, blank=True)
    refresh_lease_until = models.DateTimeField(_("refresh lease until"), null=True, blank=True)
    # Counts stored refreshes: a refresh writes its result only while the count is still the one
    # it read with the refresh token it presented (tokens.py states the invariant).
    refresh_generation = models.PositiveIntegerField(_("refresh generation"), default=0)
    # The person's own OAuth app that issued the tokens (null: the operator's app). Refresh and
    # revoke use this app; ``client_id`` keeps what it was so that a removed or replaced app
    # means "reconnect", never a silent switch to the operator's app (tokens.py).
    client_app = models.ForeignKey(
        "integrations.OAuthClientApp", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="credentials", verbose_name=_("personal OAuth app"),
    )
    client_id = models.CharField(
        _("issued to client id"), max_length=255, blank=True,
        help_text=_("The personal app's client id the tokens were issued to; empty for the "
                    "site's own app."),
    )
    fingerprint = models.CharField(
        _("fingerprint"), max_length=8, blank=True,
        help_text=_("Last 4 hex digits of a SHA-256 of the secret, to tell tokens apart."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")

    def __str__(self) -> str:
        return f"credential …{self.fingerprint}" if self.fingerprint else "credential"

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)

    def forget_unreadable(self) -> None:
        """Empty the secrets no configured key decrypts. A reconnect calls this before writing
        what the provider sent, so a field it does not send (an unchanged refresh token, an
        unused secret) cannot keep the credential unreadable after the person reconnected."""
        for name in SECRET_FIELDS:
            if isinstance(getattr(self, name), Undecryptable):
                setattr(self, name, "")

    @property
    def is_readable(self) -> bool:
        """False when a configured key no longer decrypts one of the secrets."""
        return not any(
            isinstance(getattr(self, name), Undecryptable) for name in SECRET_FIELDS
        )
