def delete_export_file(sender, *, instance, **kwargs) -> None:
    """An export row is gone (its person was deleted, say): its zip goes with it."""
    from .export_services import export_file_delete

    export_file_delete(path=instance.path)
