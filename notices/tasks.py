"""django-q2 entry points of the notices app. They take ids and call one service each.

The dotted paths are stored in queued payloads: renaming one needs care.
"""


def send_notice_email(notice_id: int) -> bool:
    from .services import notice_email_send

    return notice_email_send(notice_id=notice_id)
