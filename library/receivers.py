def merge_after_sync(sender, *, connection, full: bool = False, **kwargs) -> None:
    """A sync wrote items: merge the list service's entries into the library (all of them
    after a full pass, as a person asking for a full sync expects)."""
    from .pull import library_pull_merge

    library_pull_merge(connection=connection, full=full)
