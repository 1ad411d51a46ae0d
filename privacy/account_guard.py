"""A deleted account is never created again by a full save of a copy loaded before it went.

Django saves an instance with a primary key as an UPDATE and, when no row matched, an INSERT:
a flow holding the person's user from before their account deletion (allauth's connect saves
``request.user`` whole) would bring the deleted account back, active, with its password. The
guard refuses such a save. A window of a query remains between its check and the save.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

ACCOUNT_GONE = "This account has been deleted."


class AccountGone(PermissionDenied):
    """A view that meets it answers 403, not 500."""


def refuse_saving_a_deleted_account(sender, *, instance, raw=False, update_fields=None,
                                    **kwargs) -> None:
    if raw or instance._state.adding or instance.pk is None or update_fields is not None:
        # New users, fixtures, and saves of named fields (an UPDATE only: Django never
        # inserts for them) need no check.
        return
    if not sender._default_manager.filter(pk=instance.pk).exists():
        raise AccountGone(ACCOUNT_GONE)
