"""allauth is used to *connect* services, never to log in or sign up with them."""

import logging

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from integrations.allauth.oauth2 import BAD_TOKEN_ANSWER, BadProviderAnswer
from integrations.providers.registry import provider_for_allauth
from integrations.selectors import connection_recently_connected
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
        if entry is None or not entry.is_available():
            name = entry.name if entry else sociallogin.account.provider
            _refuse(request, NOT_AVAILABLE.format(provider=name))
        token = sociallogin.token
        if token is None or not isinstance(token.token, str) or not token.token:
            # Runs before allauth saves a new SocialAccount: refusing here leaves no account
            # without a Connection (an adapter without ConnectOAuth2Mixin can get this far).
            logger.warning("connect to %s refused: no access token", entry.slug)
            _refuse(request, CONNECT_FAILED.format(provider=entry.name, reason=BAD_TOKEN_ANSWER))

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
