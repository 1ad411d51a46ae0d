"""django-q2 entry points. They take ids and call one service each.

The dotted paths are stored in queued payloads and Schedule.func: renaming one needs a data
migration.
"""


def export_build_task(export_id: int) -> str:
    from .export_services import export_build

    export = export_build(export_id=export_id)
    return export.status if export else "gone"


def expire_exports() -> int:
    """Expired files deleted; exports left by a dead worker queued again; files no live export
    names (a killed worker's partial zip) deleted."""
    from .export_services import exports_expire, exports_orphans_delete, exports_requeue_stale

    exports_requeue_stale()
    expired = exports_expire()
    exports_orphans_delete()
    return expired
