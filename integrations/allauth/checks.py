"""System check: SocialAccounts without a Connection (see integrations/allauth/orphans.py)."""

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

IDS_SHOWN = 10


@register(Tags.database)
def orphan_social_accounts_check(app_configs, databases=None, **kwargs):
    """A database check: run by ``check --database default`` and ``migrate``, not plain
    ``check`` or ``runserver`` (Django's rule for checks that query)."""
    if not databases or "default" not in databases:
        return []
    from .orphans import orphan_social_accounts  # models are not ready at import time

    try:
        pks = list(orphan_social_accounts().values_list("pk", flat=True)[:IDS_SHOWN + 1])
    except DatabaseError:  # not migrated yet: migrate runs the checks before migrating
        return []
    if not pks:
        return []
    shown = ", ".join(str(pk) for pk in pks[:IDS_SHOWN]) + (", ..." if len(pks) > IDS_SHOWN
                                                              else "")
    return [Warning(
        f"allauth social accounts without a connection (ids: {shown}); each keeps other "
        "members from connecting that external account.",
        hint="Run manage.py remove_orphan_social_accounts (--dry-run to list them first).",
        id="thinkalike.W010",
    )]
