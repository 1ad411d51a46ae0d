"""Queueing many django-q2 tasks in a constant number of queries.

``async_task`` writes one broker row (ORM) or makes one push (Redis) per task; the dispatcher
queues whole batches, so it builds the same signed packages and hands them to the broker in
one ``bulk_create`` or one ``RPUSH``. In sync mode (tests) it falls back to ``async_task``.
"""

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.humanhash import uuid
from django_q.models import OrmQ
from django_q.signals import pre_enqueue
from django_q.signing import SignedPackage
from django_q.tasks import async_task


def _package(func: str, args: tuple, name: str) -> bytes:
    human, task_id = uuid()
    task = {"id": task_id, "name": name or human, "func": func, "args": args, "kwargs": {},
            "started": timezone.now()}
    if Conf.ACK_FAILURES:
        task["ack_failure"] = True
    if Conf.CACHED:
        task["cached"] = Conf.CACHED
    pre_enqueue.send(sender="django_q", task=task)
    return SignedPackage.dumps(task)


def enqueue_many(func: str, calls: list[tuple[tuple, str]]) -> int:
    """Queue ``func(*args)`` for each ``(args, task_name)``; returns how many were queued."""
    if not calls:
        return 0
    if Conf.SYNC:
        for args, name in calls:
            async_task(func, *args, task_name=name)
        return len(calls)
    broker = get_broker()
    packages = [_package(func, args, name) for args, name in calls]
    if isinstance(broker, ORM):
        key = broker.list_key or Conf.CLUSTER_NAME
        now = timezone.now()
        OrmQ.objects.using(Conf.ORM).bulk_create(
            [OrmQ(key=key, payload=package, lock=now) for package in packages]
        )
    else:
        broker.connection.rpush(broker.list_key, *packages)
    return len(packages)
