"""Signals other apps listen to, so integrations never imports them."""

from django.dispatch import Signal

# Sent after a sync run wrote items (created, updated or deleted some), outside any
# transaction, with ``connection`` and ``full`` (the run was a full pass). The library merges
# list entries on it (library/apps.py).
items_changed = Signal()

# Sent by a purge of one connection's imported data (services.connection_data_purge) inside its
# transaction, before the items go, with ``connection``. A receiver deletes what it derived
# from them and returns {what: count}; a receiver's error rolls the purge back, so a purge
# never half happens. The library deletes the entries only this connection fed.
data_purging = Signal()

# Sent by services.connection_stream_purge inside its transaction, after one stream's items
# were deleted, with ``connection`` and ``stream`` (its name). The export discards the person's
# zips, which hold those items too.
stream_purged = Signal()

# Sent by health_record.connection_health_record when a connection's recorded health changes,
# inside the transaction of that change, with ``connection``, ``old`` (the state recorded
# before, "" when none was), ``health`` (the new health.Health) and ``at``. Sent once per
# change however many workers saw it (the change is a conditional UPDATE). The notices app
# writes its notice here and sends its e-mail on commit. A receiver's error is logged, never
# the caller's.
health_changed = Signal()
