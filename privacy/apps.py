from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """What we hold about a person: the Your data page, the export, deleting it all."""

    name = "privacy"
    verbose_name = "Your data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, pre_save

        from integrations.signals import data_purging, stream_purged

        from .account_guard import refuse_saving_a_deleted_account
        from .models import DataExport
        from .receivers import delete_export_file, discard_exports_with_data

        post_delete.connect(delete_export_file, sender=DataExport,
                            dispatch_uid="privacy.delete_export_file")
        # A purge or disconnect discards the person's exports (ready zips, one being built).
        data_purging.connect(discard_exports_with_data,
                             dispatch_uid="privacy.discard_exports_with_data")
        stream_purged.connect(discard_exports_with_data,
                              dispatch_uid="privacy.discard_exports_with_stream")
        pre_save.connect(refuse_saving_a_deleted_account, sender=settings.AUTH_USER_MODEL,
                         dispatch_uid="privacy.refuse_saving_a_deleted_account")
