def merge_after_sync(sender, *, connection, **kwargs) -> None:
    """A sync wrote items: merge the list service's entries into the library."""
    from .pull import library_pull_merge

    library_pull_merge(connection=connection)
