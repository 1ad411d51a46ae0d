"""Copy the token allauth holds in memory into our encrypted Credential.

``social_account_added`` fires for a new connection; ``social_account_updated`` for a reconnect
(and for logins and other users' accounts, before allauth checks ownership, so it is filtered).

Invariant: a SocialAccount never exists without its Connection. allauth saves a new account
just before ``social_account_added``; if storing the connection fails, the account is deleted
again, so the two are created all or nothing.
"""

import logging

from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.contrib import messages
from django.dispatch import receiver

from integrations.allauth.adapter import CONNECT_FAILED, _refuse, personal_app_of
from integrations.allauth.oauth2 import BAD_TOKEN_ANSWER, BadProviderAnswer
from integrations.exceptions import ProviderNotAvailable
from integrations.providers.registry import provider_for_allauth
from integrations.services import connection_store_oauth
from integrations.tokens import TokenGrant

logger = logging.getLogger(__name__)

CONNECTED = "Connected {provider} as {label}. The first sync has been queued."


def store_tokens(request, sociallogin) -> None:
    account = sociallogin.account
    provider = provider_for_allauth(account.provider)
    if provider is None:  # the adapter's pre_social_login refuses these first
        raise BadProviderAnswer(BAD_TOKEN_ANSWER, f"unregistered provider {account.provider}")
    token = sociallogin.token
    if token is None or not isinstance(token.token, str) or not token.token:
        raise BadProviderAnswer(BAD_TOKEN_ANSWER, "no access token")
    scopes = getattr(token, "granted_scopes", None)
    grant = TokenGrant(
        access_token=token.token,
        refresh_token=token.token_secret or "",
        expires_at=token.expires_at,
        scopes=scopes if scopes is not None else sorted(sociallogin.provider.get_scope()),
    )
    label = account.get_provider_account().to_str()
    try:
        connection = connection_store_oauth(
            user=request.user, provider=provider, social_account=account, grant=grant,
            label=label if isinstance(label, str) else "",
            client_app=personal_app_of(sociallogin.provider.app, user=request.user),
        )
    except ProviderNotAvailable as exc:  # the account is being deleted: nothing is saved
        _refuse(request, CONNECT_FAILED.format(provider=provider.name, reason=exc.message))
    messages.success(request, CONNECTED.format(provider=provider.name,
                                               label=connection.account_label))


@receiver(social_account_added)
def on_social_account_added(sender, request, sociallogin, **kwargs):
    try:
        store_tokens(request, sociallogin)
    except BaseException:
        # allauth saved the account before sending this signal; without its Connection it would
        # be an orphan that keeps every other member from connecting this external account.
        SocialAccount.objects.filter(pk=sociallogin.account.pk).delete()
        raise


@receiver(social_account_updated)
def on_social_account_updated(sender, request, sociallogin, **kwargs):
    if sociallogin.state.get("process") != AuthProcess.CONNECT:
        return
    if not request.user.is_authenticated or sociallogin.account.user_id != request.user.pk:
        return  # another user's account: allauth refuses it right after this signal
    store_tokens(request, sociallogin)
