def delete_export_file(sender, *, instance, **kwargs) -> None:
    """An export row is gone (its person was deleted, say): every file of it goes with it,
    matched by its id (a killed worker's ``.part`` is recorded nowhere)."""
    from .export_services import export_files_delete

    export_files_delete(export_pk=instance.pk)


def discard_exports_with_data(sender, *, connection, **kwargs) -> dict[str, int]:
    """A purge or disconnect is deleting a connection's data, inside its transaction: no export
    of that person may keep a copy of it (ready zips expire, one being prepared is ended)."""
    from .export_services import exports_discard_for_user

    exports_discard_for_user(user_id=connection.user_id)
    return {}
