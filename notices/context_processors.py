"""The nav's unread-notices badge."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def notices(request: HttpRequest) -> dict:
    """``notices_unread`` for signed-in people: one COUNT, made only when a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notices_unread": SimpleLazyObject(lambda: unread_count(user=user))}
