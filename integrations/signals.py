"""Signals other apps listen to, so integrations never imports them."""

from django.dispatch import Signal

# Sent after a sync run wrote items (created, updated or deleted some), outside any
# transaction, with ``connection`` and ``full`` (the run was a full pass). The library merges
# list entries on it (library/apps.py).
items_changed = Signal()
