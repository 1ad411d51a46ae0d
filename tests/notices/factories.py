from django.utils import timezone

from notices.models import Notice


def make_notice(user, connection=None, *, title="Open Library is failing", read=False,
                kind=Notice.Kind.FAILING, minutes_ago=0):
    return Notice.objects.create(
        user=user, connection=connection, provider=connection.provider if connection else "",
        kind=kind, title=title, body="The last 3 syncs failed: down",
        created_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None)
