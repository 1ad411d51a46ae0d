"""The shared base of our OAuth 2 adapters and callback view: provider answers are untrusted.

allauth turns only ``OAuth2Error``, ``RequestException``, ``ProviderException`` and
``PermissionDenied`` into its error path; anything else a token or profile answer provokes
(``int("3600.5")``, an ``OverflowError`` from ``10**20`` seconds, a ``TypeError`` from a list body,
a ``RecursionError`` from deeply nested JSON) was a 500. Here every such answer becomes a
``BadProviderAnswer`` (a ``ProviderException``), which the adapter's ``on_authentication_error``
turns into a message on Connected Services, before allauth saves anything.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialToken
from allauth.socialaccount.providers.base import ProviderAccount, ProviderException
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.utils import timezone

from integrations.exceptions import ProviderDataError
from integrations.providers.registry import provider_for_allauth
from integrations.tokens import TOKEN_CHARACTERS, is_token_string, parse_scopes
from integrations.transport import parse_json

# What parsing hostile JSON or form data can raise besides allauth's own error types.
PARSE_ERRORS = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError,
)
# Ten years: longer is not a lifetime any provider means (and overflows date arithmetic).
MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
MAX_UID_LENGTH = 191  # allauth's SocialAccount.uid
MAX_PROFILE_STRING = 500
_DIGITS = re.compile(r"[0-9]{1,12}")

BAD_TOKEN_ANSWER = "it sent a sign-in answer that could not be used; nothing was saved"
BAD_PROFILE_ANSWER = "it sent an account profile that could not be used; nothing was saved"


class BadProviderAnswer(ProviderException):
    """A token or profile answer we cannot use.

    ``reason`` is for people (it completes "Could not connect X: ..."); ``detail`` is for the log
    and never contains a value from the answer, which may hold a secret.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _bad_token(detail: str) -> BadProviderAnswer:
    return BadProviderAnswer(BAD_TOKEN_ANSWER, detail)


def parse_expires_in(value: object) -> int:
    """Whole seconds from 1 to ten years, as a JSON number or a string of digits (form-encoded
    answers only have strings). Anything else raises BadProviderAnswer: a lifetime we cannot
    read would make us use a dead token, or never refresh a live one."""
    if isinstance(value, bool):  # bool is an int to Python, never to a provider
        raise _bad_token("expires_in is not a number")
    digits = isinstance(value, str) and _DIGITS.fullmatch(value)
    if digits or (isinstance(value, float) and value.is_integer() and abs(value) <= 2 ** 53):
        value = int(value)
    if not isinstance(value, int):
        raise _bad_token("expires_in is not a whole number of seconds")
    if not 1 <= value <= MAX_LIFETIME_SECONDS:
        raise _bad_token("expires_in is out of range")
    return value


def parse_token_string(value: object, name: str, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            raise _bad_token(f"{name} is missing or empty")
        return ""
    if not is_token_string(value):
        raise _bad_token(f"{name} is not a token string")
    return value


def token_from_answer(data: object, expires_in_key: str = "expires_in") -> SocialToken:
    """An unsaved SocialToken from a token answer, or BadProviderAnswer. Sets ``granted_scopes``."""
    if not isinstance(data, dict):
        raise _bad_token("the token answer is not an object")
    token = SocialToken(
        token=parse_token_string(data.get("access_token"), "access_token", required=True),
        token_secret=parse_token_string(data.get("refresh_token"), "refresh_token",
                                        required=False),
    )
    if expires_in_key in data:  # optional (RFC 6749 5.1): absent means "not told"
        token.expires_at = timezone.now() + timedelta(
            seconds=parse_expires_in(data[expires_in_key]))
    token.granted_scopes = parse_scopes(data.get("scope"))
    return token


def uid_from(value: object) -> str:
    """An account id from a profile: a string or an integer (never a bool, list or object,
    whose ``str()`` would make an id no provider meant). Raises ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("the account id is not a string or a number")
    return str(value)


def minimal_profile(profile: dict, keys: tuple[str, ...]) -> dict:
    """The declared keys of a profile, scalars only (strings cut), one level of nesting.

    allauth stores the whole profile as ``SocialAccount.extra_data``; we keep only what the
    provider's account class reads (data minimisation, and no megabyte or deeply nested JSON).
    """

    def scalar(value):
        if isinstance(value, str):
            return value[:MAX_PROFILE_STRING]
        return value if value is None or isinstance(value, bool | int | float) else None

    kept = {}
    for key in keys:
        value = profile.get(key)
        if isinstance(value, dict):
            kept[key] = {k: scalar(v) for k, v in list(value.items())[:20] if isinstance(k, str)}
        elif key in profile:
            kept[key] = scalar(value)
    return kept


class DeclaredScopes:
    """Mix into an allauth provider class: the scopes asked for are the ones the catalog's
    provider declares (``Provider.scopes``), so they are written in one place."""

    def get_default_scope(self):
        declared = provider_for_allauth(self.id)
        return list(declared.scopes) if declared is not None else []


class LabelledAccount(ProviderAccount):
    """An account shown by the profile value under ``label_key`` (kept by minimal_profile)."""

    label_key = "display_name"

    def to_str(self):
        return self.account.extra_data.get(self.label_key) or super().to_str()


class ConnectOAuth2Provider(DeclaredScopes, OAuth2Provider):
    """The base of our allauth providers: a data source, never an identity. Scopes come from
    the catalog's declaration, nothing is copied onto the user, PKCE is on unless a provider
    cannot do it. A subclass sets id, name, oauth2_adapter_class and extract_uid."""

    account_class = LabelledAccount
    pkce_enabled_default = True

    def extract_common_fields(self, data):
        return {}


class ConnectOAuth2Mixin:
    """Mix into an ``OAuth2Adapter`` (before it). A provider declares ``profile_url`` and
    ``profile_keys``; it overrides ``fetch_profile`` only when its profile is not one GET."""

    profile_keys: tuple[str, ...] = ("id", "display_name")

    def parse_token(self, data) -> SocialToken:
        return token_from_answer(data, self.expires_in_key)

    def fetch_profile(self, token: SocialToken) -> dict:
        with get_adapter().get_requests_session() as session:
            response = session.get(
                self.profile_url, headers={"Authorization": f"Bearer {token.token}"})
            response.raise_for_status()  # an HTTPError is a handled auth error, not a 500
            try:
                profile = parse_json(response.content, name=self.get_provider().name)
            except ProviderDataError:
                profile = None
        if not isinstance(profile, dict):
            raise BadProviderAnswer(BAD_PROFILE_ANSWER, "the profile is not a JSON object")
        return profile

    def complete_login(self, request, app, token, **kwargs):
        profile = self.fetch_profile(token)
        provider = self.get_provider()
        try:
            # Checked before allauth sees it: allauth raises ImproperlyConfigured (a 500) for a
            # uid longer than its column.
            uid = provider.extract_uid(profile)
            if len(uid) > MAX_UID_LENGTH or not TOKEN_CHARACTERS.fullmatch(uid):
                raise ValueError("the account id is too long or has spaces")
            login = provider.sociallogin_from_response(request, profile)
        except PARSE_ERRORS as error:
            raise BadProviderAnswer(
                BAD_PROFILE_ANSWER, f"no usable account id ({type(error).__name__})") from None
        login.account.extra_data = minimal_profile(profile, self.profile_keys)
        return login


def _answer_guard(method, reason: str):
    @functools.wraps(method)
    def guarded(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except PARSE_ERRORS as error:
            raise BadProviderAnswer(reason, f"unreadable answer ({type(error).__name__})") from None

    return guarded


class ConnectCallbackView(OAuth2CallbackView):
    """allauth's callback, where a parse failure while reading the token or the profile (also
    in an adapter without ConnectOAuth2Mixin) ends on Connected Services instead of a 500.

    Only the adapter's reading steps are guarded: an error in storing the connection is our bug
    and stays a 500 with its traceback (the receivers make sure it leaves nothing behind).
    """

    @classmethod
    def adapter_view(cls, adapter):
        view = super().adapter_view(adapter)
        view.reads_answers_safely = True  # checked for every OAuth provider by a contract test
        return view

    def dispatch(self, request, *args, **kwargs):
        adapter = self.adapter  # one instance per request, so wrapping it is local to this one
        adapter.get_access_token_data = _answer_guard(adapter.get_access_token_data,
                                                      BAD_TOKEN_ANSWER)
        adapter.parse_token = _answer_guard(adapter.parse_token, BAD_TOKEN_ANSWER)
        adapter.complete_login = _answer_guard(adapter.complete_login, BAD_PROFILE_ANSWER)
        return super().dispatch(request, *args, **kwargs)
