"""Representations the API hands out: connections, sync runs, items, action runs.

Read-only and honest about nulls, so the schema each response is checked against says what is
really there. Nothing here reads a Credential's secrets, and Connection.config (which holds only
the non-secret connect fields) is not handed out at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..credentials import credential_unreadable
from ..health import STATES, connection_health
from ..models import ActionRun, Connection, ExternalItem, SyncRun
from ..providers.retired import provider_or_retired
from .fields import StrictBooleanField, StrictSerializer

# One vocabulary for a connection's state, in the catalog and on a connection.
STATUS_CHOICES = ["connected", "disconnected", "needs_reauth", "error", "disabled"]
_STATUS_WORDS = {
    Connection.Status.ACTIVE: "connected",
    Connection.Status.NEEDS_REAUTH: "needs_reauth",
    Connection.Status.ERROR: "error",
    Connection.Status.DISABLED: "disabled",
}


def connection_status(connection: Connection | None) -> str:
    """An unreadable stored credential needs reconnecting whatever the status column says."""
    if connection is None:
        return "disconnected"
    if credential_unreadable(connection):
        return "needs_reauth"
    return _STATUS_WORDS.get(connection.status, "error")


def is_scheduled(connection: Connection) -> bool:
    return (connection.status == Connection.Status.ACTIVE and connection.sync_enabled
            and connection.auto_sync)


class StreamSettingSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    purposes = serializers.ListField(child=serializers.CharField(),
                                     help_text="The consent purposes the stream serves.")


class HealthSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES, help_text=(
        "healthy; degraded (a failed sync, or no success for two sync intervals); failing "
        "(three failed syncs in a row); needs_reconnect; idle (not synced yet, or sync off)."))
    reason = serializers.CharField(help_text="Why, in plain words; the last error redacted.")


class ConnectionSerializer(serializers.ModelSerializer):
    provider_name = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)
    streams = serializers.SerializerMethodField()
    next_sync_at = serializers.SerializerMethodField(
        help_text="When the next automatic sync is due; null while none is scheduled.")
    health = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = ["id", "provider", "provider_name", "status", "account_label", "scopes",
                  "sync_enabled", "auto_sync", "streams", "last_sync_at", "last_sync_status",
                  "next_sync_at", "last_error", "health", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=STATUS_CHOICES))
    def get_status(self, connection: Connection) -> str:
        return connection_status(connection)

    @extend_schema_field(StreamSettingSerializer(many=True))
    def get_streams(self, connection: Connection) -> list[dict]:
        provider = provider_or_retired(connection.provider)
        return [{"name": stream.name, "label": stream.label,
                 "enabled": connection.stream_enabled(stream.name),
                 "purposes": list(stream.purposes)} for stream in provider.streams]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_sync_at(self, connection: Connection) -> str | None:
        if not is_scheduled(connection) or connection.next_sync_at is None:
            return None
        return serializers.DateTimeField().to_representation(connection.next_sync_at)

    @extend_schema_field(HealthSerializer)
    def get_health(self, connection: Connection) -> dict[str, str]:
        health = connection_health(connection, now=timezone.now())
        return {"state": health.state, "reason": health.reason}


class ConnectionSettingsSerializer(StrictSerializer):
    """PATCH body: any of the three; what is left out stays as it is; nothing else."""

    sync_enabled = StrictBooleanField(required=False,
                                      help_text="Off: no sync at all, manual or automatic.")
    auto_sync = StrictBooleanField(
        required=False, help_text="Off: no scheduled syncs; a manual sync still runs.")
    streams = serializers.DictField(child=StrictBooleanField(), required=False,
                                    help_text="Stream name to on/off.")


class DisconnectSerializer(serializers.Serializer):
    revoked = serializers.BooleanField(help_text="Access was revoked at the provider.")
    revoke_note = serializers.CharField(allow_blank=True,
                                        help_text="Why access was not revoked, when it was not.")


class PurgeSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="Imported items deleted (their mappings).")
    interests = serializers.IntegerField(help_text="Interests deleted.")
    checkpoints = serializers.IntegerField(
        help_text="Stream checkpoints deleted: the next sync starts over.")
    library_entries = serializers.IntegerField(
        help_text="Library entries deleted: those only this connection fed.")
    library_pushes = serializers.IntegerField(
        help_text="Library changes waiting for (or sent to) this connection, deleted.")
    library_conflicts = serializers.IntegerField(
        help_text="Recorded library conflicts with this connection's provider, deleted.")


def purge_data(result) -> dict[str, int]:
    """A PurgeResult as PurgeSerializer's fields (what no listener deleted is 0)."""
    return {"items": result.items, "interests": result.interests,
            "checkpoints": result.checkpoints,
            **{name: result.other.get(name, 0)
               for name in ("library_entries", "library_pushes", "library_conflicts")}}


class SyncRunSerializer(serializers.ModelSerializer):
    counters = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = ["id", "status", "mode", "trigger", "queued_at", "started_at", "finished_at",
                  "counters", "error_code", "error_message"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "properties": {
        name: {"type": "integer"} for name in
        ("pages", "fetched", "created", "updated", "unchanged", "deleted")}})
    def get_counters(self, run: SyncRun) -> dict[str, int]:
        return {name: getattr(run, name) for name in
                ("pages", "fetched", "created", "updated", "unchanged", "deleted")}


class ItemSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="The item at the provider, when its data has a web address.")
    attrs = serializers.SerializerMethodField(help_text="What was kept of the provider's data.")

    class Meta:
        model = ExternalItem
        fields = ["id", "external_id", "kind", "title", "url", "attrs", "first_seen_at",
                  "last_seen_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, item: ExternalItem) -> str | None:
        url = item.attrs.get("url") if isinstance(item.attrs, dict) else None
        # Provider data is untrusted: only a web address is passed on as a link.
        if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
            return url
        return None

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_attrs(self, item: ExternalItem) -> dict:
        return item.attrs if isinstance(item.attrs, dict) else {}


class ActionRunSerializer(serializers.ModelSerializer):
    input_summary = serializers.SerializerMethodField(
        help_text="The input as stored: secret fields replaced, long values cut.")

    class Meta:
        model = ActionRun
        fields = ["id", "action", "status", "idempotency_key", "input_summary", "external_id",
                  "summary", "error", "created_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_input_summary(self, run: ActionRun) -> dict:
        return run.input_summary if isinstance(run.input_summary, dict) else {}
