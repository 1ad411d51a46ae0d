def merge_after_sync(sender, *, connection, full: bool = False, **kwargs) -> None:
    """A sync wrote items: merge the list service's entries into the library (all of them
    after a full pass, as a person asking for a full sync expects)."""
    from .pull import library_pull_merge

    library_pull_merge(connection=connection, full=full)


def purge_with_connection(sender, *, connection, **kwargs) -> dict[str, int]:
    """A connection's imported data is being deleted: delete the library's side of it."""
    from .services import library_connection_purge

    return library_connection_purge(connection=connection)
