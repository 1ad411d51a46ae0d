"""A person's own OAuth app for a provider ("bring your own app").

The operator's app (``<ID>_CLIENT_ID`` / ``_CLIENT_SECRET``) stays the default. A person who
registers their own app at a provider that declares ``personal_app`` connects through it:
allauth's adapter lists it for *their* requests only (integrations/allauth/adapter.py). The
credential records the app that issued its tokens, and refresh and revoke use that app
(``client_for_credential``). Invariant: a token issued to a person's app is never sent with
another app's credentials; when that app was removed or its client id changed, the person must
reconnect.

The secret is stored encrypted and never shown again: pages and the API say only whether one
is saved.
"""

from __future__ import annotations

import re

from allauth.utils import build_absolute_uri
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse

from .auth import ClientApp
from .exceptions import IntegrationError, ReauthRequired
from .models import AuditEvent, Credential, OAuthClientApp
from .providers.base import Provider

# Printable ASCII without spaces: what every client id and secret here is made of.
CLIENT_ID_PATTERN = re.compile(r"[!-~]{1,255}")
CLIENT_SECRET_PATTERN = re.compile(r"[!-~]{1,1000}")

# Messages people see; tests import them.
NOT_SUPPORTED = "{name} does not take your own OAuth app here."
CLIENT_ID_INVALID = "The client id must be 1 to 255 printable characters without spaces."
SECRET_REQUIRED = ("The client secret is required when you first save your app or change its "
                   "client id.")
SECRET_INVALID = "The client secret must be 1 to 1000 printable characters without spaces."
APP_REMOVED = ("{provider} was connected through your own app, which was removed; "
               "please reconnect")
APP_CHANGED = ("{provider} was connected through another client id than your app's now; "
               "please reconnect")
APP_UNREADABLE = ("The secret of your own {provider} app can no longer be read; save it again, "
                  "then reconnect")


class PersonalAppUnsupported(IntegrationError):
    code = "personal_app_unsupported"


class PersonalAppInvalid(IntegrationError):
    """Refused input; ``fields`` maps ``client_id`` / ``client_secret`` to its message."""

    code = "invalid"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(" ".join(fields.values()))
        self.fields = fields


def oauth_app_check_supported(provider: Provider) -> None:
    if not (provider.personal_app and provider.auth.via_allauth and provider.allauth_id):
        raise PersonalAppUnsupported(NOT_SUPPORTED.format(name=provider.name))


def oauth_app_for(*, user: AbstractBaseUser, provider: str) -> OAuthClientApp | None:
    """``user``'s own app for the provider slug ``provider``, if they saved one."""
    if not user.is_authenticated:
        return None
    return OAuthClientApp.objects.filter(user=user, provider=provider).first()


def oauth_apps_usable(*, user: AbstractBaseUser) -> list[OAuthClientApp]:
    """``user``'s apps that a connect can use: a supporting provider, a readable secret."""
    from .providers.registry import PROVIDERS

    if not user.is_authenticated:
        return []
    apps = OAuthClientApp.objects.filter(user=user, provider__in=[
        slug for slug, provider in PROVIDERS.items() if provider.personal_app])
    return [app for app in apps if app.has_secret]


def _audit(user: AbstractBaseUser, provider: Provider, action: str, message: str,
           actor: str) -> None:
    AuditEvent.objects.create(user=user, provider=provider.slug, action=action,
                              message=message[:500], actor=actor[:100])


def oauth_app_save(*, user: AbstractBaseUser, provider: Provider, client_id: str,
                   client_secret: str = "", actor: str = "") -> OAuthClientApp:
    """Create or update ``user``'s own app for ``provider``. An empty ``client_secret`` keeps
    the stored one for the same client id (required when there is none or the client id
    changes). Raises PersonalAppUnsupported or PersonalAppInvalid (nothing saved)."""
    oauth_app_check_supported(provider)
    client_id, client_secret = client_id.strip(), client_secret.strip()
    try:
        return _save(user, provider, client_id, client_secret, actor)
    except IntegrityError:
        # Two first saves at once: neither saw a row to lock and the other inserted first.
        # Its row is committed now, so the second try locks and updates it.
        return _save(user, provider, client_id, client_secret, actor)


@transaction.atomic
def _save(user: AbstractBaseUser, provider: Provider, client_id: str, client_secret: str,
          actor: str) -> OAuthClientApp:
    app = (OAuthClientApp.objects.select_for_update()
           .filter(user=user, provider=provider.slug).first())
    errors = {}
    if not CLIENT_ID_PATTERN.fullmatch(client_id):
        errors["client_id"] = CLIENT_ID_INVALID
    if client_secret and not CLIENT_SECRET_PATTERN.fullmatch(client_secret):
        errors["client_secret"] = SECRET_INVALID
    elif not client_secret and (app is None or not app.has_secret
                                or app.client_id != client_id):
        # A secret belongs to one client id: kept for another, it would be sent as that
        # client's.
        errors["client_secret"] = SECRET_REQUIRED
    if errors:
        raise PersonalAppInvalid(errors)
    app = app or OAuthClientApp(user=user, provider=provider.slug)
    app.client_id = client_id
    if client_secret:
        app.client_secret = client_secret
    app.save()
    _audit(user, provider, AuditEvent.Action.APP_SAVED, f"client id {client_id}", actor)
    return app


@transaction.atomic
def oauth_app_delete(*, user: AbstractBaseUser, provider: Provider, actor: str = "") -> bool:
    """Remove ``user``'s own app for ``provider``; True when there was one. Connections made
    through it keep their tokens, and must reconnect when those need renewing."""
    oauth_app_check_supported(provider)
    app = OAuthClientApp.objects.filter(user=user, provider=provider.slug).first()
    if app is None:
        return False
    in_use = Credential.objects.filter(client_app=app).count()
    app.delete()  # credentials keep its client id: tokens.py then asks for a reconnect
    _audit(user, provider, AuditEvent.Action.APP_DELETED,
           f"client id {app.client_id}; {in_use} connection(s) made with it", actor)
    return True


def client_for_credential(credential: Credential, provider: Provider) -> ClientApp | None:
    """The app to refresh or revoke ``credential``'s tokens with: the person's own app that
    issued them, or None for the operator's. ReauthRequired when the issuing app is gone,
    has another client id now, or its secret cannot be read."""
    if not credential.client_id:
        return None
    app = (OAuthClientApp.objects.filter(pk=credential.client_app_id).first()
           if credential.client_app_id else None)
    if app is None:
        raise ReauthRequired(APP_REMOVED.format(provider=provider.name))
    if app.client_id != credential.client_id:
        raise ReauthRequired(APP_CHANGED.format(provider=provider.name))
    if not app.has_secret:
        raise ReauthRequired(APP_UNREADABLE.format(provider=provider.name))
    return ClientApp(app.client_id, app.client_secret)


def oauth_app_redirect_uri(request: HttpRequest, provider: Provider) -> str:
    """The redirect URI to register in the app: allauth's callback, built as allauth builds
    the redirect_uri it sends."""
    return build_absolute_uri(request, reverse(f"{provider.allauth_id}_callback"))


def oauth_app_providers(*, user: AbstractBaseUser) -> set[str]:
    """Slugs of the providers ``user`` has a usable own app for (one query)."""
    return {app.provider for app in oauth_apps_usable(user=user)}


def provider_available_for(provider: Provider, own_apps: set[str]) -> bool:
    """Can this person connect it: the operator configured it, or they brought their own app
    (``own_apps`` from ``oauth_app_providers``)."""
    return provider.is_available() or (provider.personal_app and provider.slug in own_apps)
