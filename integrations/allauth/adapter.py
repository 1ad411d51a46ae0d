"""allauth is used to *connect* services, never to log in or sign up with them."""

import logging

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from integrations.allauth.oauth2 import BAD_TOKEN_ANSWER, BadProviderAnswer
from integrations.models import OAuthClientApp
from integrations.oauth_apps import (
    oauth_app_providers,
    oauth_apps_usable,
    provider_available_for,
)
from integrations.providers.registry import PROVIDERS, provider_for_allauth
from integrations.selectors import connection_recently_connected
from integrations.services import ACCOUNT_CLOSING
from integrations.txguard import guard_session

logger = logging.getLogger(__name__)

SIGN_IN_FIRST = "Sign in first, then connect services from Connected Services."
CONNECT_FAILED = "Could not connect {provider}: {reason}"
CONNECT_CANCELLED = "Connecting {provider} was cancelled; nothing was saved."
NOT_AVAILABLE = "{provider} cannot be connected on this site right now."
# A second Allow after Back (or a reload of the callback) brings back a state already used.
ALREADY_CONNECTED = "{provider} is already connected."
LINK_EXPIRED = ("That {provider} sign-in was already used or took too long; nothing changed. "
                "Press Connect to try again.")
SIGN_IN_INCOMPLETE = "the service's sign-in did not complete. Please try again"
REFUSED = "the service refused access"
DISCONNECT_HERE = "Disconnect services from Connected Services."
# "Moments ago" for a stale state: allauth keeps a state this long (statekit.STATE_TTL).
RECENT_CONNECT_SECONDS = 600
# Marks the SocialApp built from a person's own app (its OAuthClientApp's pk).
PERSONAL_APP_KEY = "thinkalike_personal_app"
APP_REMOVED_DURING_CONNECT = "your own app was removed while connecting; nothing was saved"


def personal_social_apps(request, provider=None, client_id=None) -> list[SocialApp]:
    """The signed-in person's own apps as (unsaved) allauth apps, filtered like list_apps.
    Empty without a request or a signed-in user: refresh and revoke, which have no request,
    choose their app from the credential (integrations/oauth_apps.py)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    apps = []
    for app in oauth_apps_usable(user=user):
        allauth_id = PROVIDERS[app.provider].allauth_id
        if (provider and provider != allauth_id) or (client_id and client_id != app.client_id):
            continue
        apps.append(SocialApp(provider=allauth_id, name=f"{app.provider} (personal)",
                              client_id=app.client_id, secret=app.client_secret,
                              settings={PERSONAL_APP_KEY: app.pk}))
    return apps


def personal_app_of(social_app: SocialApp | None, *, user) -> OAuthClientApp | None:
    """The person's own app a connect went through, or None for the operator's app."""
    pk = (getattr(social_app, "settings", None) or {}).get(PERSONAL_APP_KEY)
    if pk is None:
        return None
    app = OAuthClientApp.objects.filter(pk=pk, user=user, client_id=social_app.client_id).first()
    if app is None:
        raise BadProviderAnswer(APP_REMOVED_DURING_CONNECT, "the personal app is gone")
    return app


def _refuse(request, text: str):
    messages.error(request, text)
    raise ImmediateHttpResponse(redirect("integrations:connected_services"))


class ConnectOnlySocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        if (sociallogin.state.get("process") != AuthProcess.CONNECT
                or not request.user.is_authenticated):
            messages.error(request, SIGN_IN_FIRST)
            raise ImmediateHttpResponse(redirect("account_login"))
        entry = provider_for_allauth(sociallogin.account.provider)
        if not get_user_model().objects.filter(pk=request.user.pk, is_active=True).exists():
            # Closed by an account deletion since this request signed in. Refused here,
            # before allauth saves the user (a full save of request.user, whose is_active is
            # from the start of the request, would open the account again) and the account.
            name = entry.name if entry else sociallogin.account.provider
            _refuse(request, CONNECT_FAILED.format(provider=name, reason=ACCOUNT_CLOSING))
        if entry is None or not provider_available_for(
                entry, oauth_app_providers(user=request.user)):
            name = entry.name if entry else sociallogin.account.provider
            _refuse(request, NOT_AVAILABLE.format(provider=name))
        token = sociallogin.token
        if token is None or not isinstance(token.token, str) or not token.token:
            # Runs before allauth saves a new SocialAccount: refusing here leaves no account
            # without a Connection (an adapter without ConnectOAuth2Mixin can get this far).
            logger.warning("connect to %s refused: no access token", entry.slug)
            _refuse(request, CONNECT_FAILED.format(provider=entry.name, reason=BAD_TOKEN_ANSWER))

    def list_apps(self, request, provider=None, client_id=None):
        """The operator's apps, except that a signed-in person's own app for a provider
        replaces the operator's for their requests (their connect, its callback)."""
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        personal = personal_social_apps(request, provider, client_id)
        if request is None or not personal:
            return apps
        replaced = {app.provider for app in personal}
        return [app for app in apps if app.provider not in replaced] + personal

    def is_open_for_signup(self, request, sociallogin):
        return False

    def is_auto_signup_allowed(self, request, sociallogin):
        return False

    def get_requests_session(self):
        """allauth's session for the token exchange and profile calls, checked like send()."""
        return guard_session(super().get_requests_session())

    def get_connect_redirect_url(self, request, socialaccount):
        return reverse("integrations:connected_services")

    def validate_disconnect(self, account, accounts):
        # allauth's own disconnect would keep the token and the Connection; ours revokes and
        # deletes everything (integrations.services.connection_disconnect).
        raise ValidationError(DISCONNECT_HERE)

    def on_authentication_error(self, request, provider, error=None, exception=None,
                                extra_context=None):
        """Cancel, bad state, token or profile failure: back to our page with a message."""
        if not request.user.is_authenticated:
            messages.error(request, SIGN_IN_FIRST)
            raise ImmediateHttpResponse(redirect("account_login"))
        context = extra_context or {}
        if "state_id" in context and context.get("state") is None:
            # allauth found no state: it was used already (Back, then Allow again) or expired.
            self._stale_state(request, provider)
        if error == AuthError.CANCELLED:
            text = CONNECT_CANCELLED.format(provider=provider.name)
        elif isinstance(exception, BadProviderAnswer):
            logger.warning("connect to %s refused: %s", provider.id, exception.detail)
            text = CONNECT_FAILED.format(provider=provider.name, reason=exception.reason)
        else:
            reason = REFUSED if error == AuthError.DENIED else SIGN_IN_INCOMPLETE
            text = CONNECT_FAILED.format(provider=provider.name, reason=reason)
        _refuse(request, text)

    def _stale_state(self, request, provider):
        entry = provider_for_allauth(provider.id)
        if entry is not None and connection_recently_connected(
                user=request.user, provider=entry.slug, within_seconds=RECENT_CONNECT_SECONDS):
            messages.info(request, ALREADY_CONNECTED.format(provider=provider.name))
            raise ImmediateHttpResponse(redirect("integrations:connected_services"))
        _refuse(request, LINK_EXPIRED.format(provider=provider.name))
