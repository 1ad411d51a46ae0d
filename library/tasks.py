"""django-q2 entry points (dotted paths are stored in queued payloads: renaming needs care)."""


def push_task(push_id: int) -> str:
    from .push import library_push_send

    push = library_push_send(push_id=push_id)
    return push.state if push else "gone"


def retry_pushes() -> int:
    from .push import library_pushes_retry

    return library_pushes_retry()
