"""allauth is used to *connect* services, never to log in or sign up with them."""

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from integrations.providers.registry import PROVIDERS
from integrations.txguard import guard_session

SIGN_IN_FIRST = "Sign in first, then connect services from Connected Services."
CONNECT_FAILED = "Could not connect {provider}: {reason}"
CONNECT_CANCELLED = "Connecting {provider} was cancelled; nothing was saved."
NOT_AVAILABLE = "{provider} cannot be connected on this site right now."


def _catalog_entry(allauth_id: str):
    return next((p for p in PROVIDERS.values() if p.allauth_id == allauth_id), None)


class ConnectOnlySocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        if (sociallogin.state.get("process") != AuthProcess.CONNECT
                or not request.user.is_authenticated):
            messages.error(request, SIGN_IN_FIRST)
            raise ImmediateHttpResponse(redirect("account_login"))
        entry = _catalog_entry(sociallogin.account.provider)
        if entry is None or not entry.is_available():
            name = entry.name if entry else sociallogin.account.provider
            messages.error(request, NOT_AVAILABLE.format(provider=name))
            raise ImmediateHttpResponse(redirect("integrations:connected_services"))

    def is_open_for_signup(self, request, sociallogin):
        return False

    def is_auto_signup_allowed(self, request, sociallogin):
        return False

    def get_requests_session(self):
        """allauth's session for the token exchange and profile calls, checked like send()."""
        return guard_session(super().get_requests_session())

    def get_connect_redirect_url(self, request, socialaccount):
        return reverse("integrations:connected_services")

    def on_authentication_error(self, request, provider, error=None, exception=None,
                                extra_context=None):
        """Cancel, bad state, token or profile failure: back to our page with a message."""
        if not request.user.is_authenticated:
            messages.error(request, SIGN_IN_FIRST)
            raise ImmediateHttpResponse(redirect("account_login"))
        if error == "cancelled":
            text = CONNECT_CANCELLED.format(provider=provider.name)
        else:
            reason = {
                "denied": "the service refused access",
            }.get(error or "", "the service's sign-in did not complete. Please try again")
            text = CONNECT_FAILED.format(provider=provider.name, reason=reason)
        messages.error(request, text)
        raise ImmediateHttpResponse(redirect("integrations:connected_services"))
