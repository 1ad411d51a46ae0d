from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = "Library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.signals import data_purging, items_changed

        from .receivers import merge_after_sync, purge_with_connection

        items_changed.connect(merge_after_sync, dispatch_uid="library.merge_after_sync")
        data_purging.connect(purge_with_connection, dispatch_uid="library.purge_with_connection")
