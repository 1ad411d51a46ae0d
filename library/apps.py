from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = "Library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.signals import items_changed

        from .receivers import merge_after_sync

        items_changed.connect(merge_after_sync, dispatch_uid="library.merge_after_sync")
