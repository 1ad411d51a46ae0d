from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_tables(sender, using: str = "default", verbosity: int = 1, **kwargs) -> None:
    """``migrate`` alone leaves a working site: it also creates the database cache table.

    Without REDIS_URL the cache is a database table that no migration creates, and allauth's
    rate limits use the cache on sign-up and login, so a deployment that only migrates would
    answer them with a 500. createcachetable is idempotent and skips non-database caches.
    """
    call_command("createcachetable", database=using, verbosity=verbosity)


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Connected services"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  # registers the system checks
        from .allauth import checks as allauth_checks  # noqa: F401  # orphan social accounts
        from .allauth import receivers  # noqa: F401  # connects the allauth signal receivers
        from .providers.registry import register_allauth_providers

        register_allauth_providers()

        post_migrate.connect(create_cache_tables, sender=self,
                             dispatch_uid="integrations.create_cache_tables")
        from django.db.models.signals import pre_delete

        from .models import Connection
        from .usage import fold_usage_before_delete

        # Every way a connection goes (the admin, a user deleted with their connections) folds
        # its usage counts first: SET_NULL alone would clash with the provider's own row.
        pre_delete.connect(fold_usage_before_delete, sender=Connection,
                           dispatch_uid="integrations.fold_usage_before_delete")
