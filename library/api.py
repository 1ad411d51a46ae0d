"""/api/v1/library/: the person's anime and manga entries, their conflicts, a manual sync of
their list services, and each list connection's switches (/connections/{id}/list-sync/).

The same services and selectors as the library pages. Decisions a client relies on:

* A PATCH of an entry is pushed to each list service whose switches allow it; the answer
  shows where the entry stands on each (``waiting`` until the push is sent).
* ``POST /library/sync/`` syncs every list connection that can (or the one named): 202 with
  the runs queued and those skipped with their reason; 409 when none could, with the code the
  connection's own sync gives (``sync_running``, ``sync_disabled``, ``needs_reconnect``,
  ``not_active``, ``nothing_to_sync``).
* Another person's entry or connection in a URL is 404; in a body, 400.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.api.connections import SYNC_RUNNING, ConnectionViewSet
from integrations.api.errors import ApiError, BadRequest, Conflict
from integrations.api.fields import StrictBooleanField, StrictSerializer
from integrations.api.schema import ErrorSerializer
from integrations.api.serializers import SyncRunSerializer
from integrations.exceptions import IntegrationError
from integrations.models import Connection, SyncRun
from integrations.selectors import (
    connection_get_for_user,
    connections_for_owner,
    sync_run_get_for_user,
)

from . import statuses
from .models import LibraryConflict, LibraryEntry, MediaTitle
from .scores import MAX_SCORE
from .selectors import (
    library_conflicts_for,
    library_entries_for,
    library_entry_get,
    library_entry_history,
    library_entry_services,
)
from .services import (
    NOT_A_LIST_SERVICE,
    LibraryInputError,
    library_entry_update,
    library_list_sync_update,
    library_settings_for,
    library_sync_now,
)
from .terms import MAX_PROGRESS, TERMS

# Messages clients see; tests import them.
NO_LIST_SERVICE = "You have no anime or manga list service connected."
UNKNOWN_CONNECTION = "You have no connection with this id."
HISTORY_LIMIT = 50
SEARCH_MAX_LENGTH = 100
CONNECTION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description="One of your anime or manga list connections.")


class StrictIntegerField(serializers.IntegerField):
    """A JSON number without a fraction only: not true/false, not "5", not 5.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# -- representations ---------------------------------------------------------------------------

class TitleIdsSerializer(serializers.Serializer):
    mal = serializers.IntegerField(source="mal_id", allow_null=True)
    anilist = serializers.IntegerField(source="anilist_id", allow_null=True)
    kitsu = serializers.IntegerField(source="kitsu_id", allow_null=True)


class EntryServiceSerializer(serializers.Serializer):
    provider = serializers.CharField(source="connection.provider")
    connection = serializers.IntegerField(source="connection_id")


class EntryServiceStateSerializer(serializers.Serializer):
    provider = serializers.CharField(source="connection.provider")
    connection = serializers.IntegerField(source="connection.pk")
    state = serializers.ChoiceField(choices=["synced", "waiting", "failed", "waiting_reconnect",
                                             "removed", "absent"])
    label = serializers.CharField()
    error = serializers.CharField(allow_blank=True, help_text="Why it was not sent, redacted.")
    since = serializers.DateTimeField(allow_null=True)


class HistoryLineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["conflict", "push"])
    provider = serializers.CharField()
    text = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="title.kind")
    title = serializers.SerializerMethodField(help_text="The name to show.")
    titles = serializers.SerializerMethodField(help_text="The names each service gives.")
    ids = TitleIdsSerializer(source="title", help_text="The title's id on each service.")
    status = serializers.ChoiceField(choices=statuses.STATUSES)
    services = EntryServiceSerializer(
        many=True, help_text="The connections whose service has the entry.")
    conflict_count = serializers.IntegerField()

    class Meta:
        model = LibraryEntry
        fields = ["id", "kind", "title", "titles", "ids", "status", "progress", "score",
                  "status_changed_at", "progress_changed_at", "score_changed_at", "removed_at",
                  "updated_at", "services", "conflict_count"]
        read_only_fields = fields

    def get_title(self, entry: LibraryEntry) -> str:
        return str(entry.title)

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_titles(self, entry: LibraryEntry) -> dict[str, str]:
        names = entry.title.titles if isinstance(entry.title.titles, dict) else {}
        # Provider data: only text under text keys is passed on.
        return {key: value for key, value in names.items()
                if isinstance(key, str) and isinstance(value, str)}


class EntryDetailSerializer(EntrySerializer):
    services = serializers.SerializerMethodField(
        help_text="Where the entry stands on each of your list services.")
    history = serializers.SerializerMethodField(
        help_text=f"Conflicts and pushes, newest first (at most {HISTORY_LIMIT}).")

    class Meta(EntrySerializer.Meta):
        fields = [*EntrySerializer.Meta.fields, "history"]
        read_only_fields = fields

    @extend_schema_field(EntryServiceStateSerializer(many=True))
    def get_services(self, entry: LibraryEntry) -> list[dict]:
        return EntryServiceStateSerializer(library_entry_services(entry=entry), many=True).data

    @extend_schema_field(HistoryLineSerializer(many=True))
    def get_history(self, entry: LibraryEntry) -> list[dict]:
        lines = library_entry_history(entry=entry, limit=HISTORY_LIMIT)
        return HistoryLineSerializer(lines, many=True).data


class EntryUpdateSerializer(StrictSerializer):
    """PATCH body: any of the three; null clears progress or score."""

    status = serializers.ChoiceField(choices=statuses.STATUSES, required=False)
    progress = StrictIntegerField(required=False, allow_null=True, min_value=0,
                                  max_value=MAX_PROGRESS,
                                  help_text="Episodes watched or chapters read; null clears.")
    score = StrictIntegerField(required=False, allow_null=True, min_value=0,
                               max_value=MAX_SCORE, help_text="0 to 100; null: no score.")


class ConflictSerializer(serializers.ModelSerializer):
    entry = serializers.IntegerField(source="entry_id")
    title = serializers.SerializerMethodField()
    local_value = serializers.JSONField(
        allow_null=True, help_text="The value here: a field's value, or for the field "
                                   "\"entry\" the fields as an object; null: removed.")
    remote_value = serializers.JSONField(allow_null=True,
                                         help_text="The value on the service, alike.")

    class Meta:
        model = LibraryConflict
        fields = ["id", "entry", "title", "field", "local_value", "remote_value", "winner",
                  "provider", "detected_at", "seen_at"]
        read_only_fields = fields

    def get_title(self, conflict: LibraryConflict) -> str:
        return str(conflict.entry.title)


class LibrarySyncRequestSerializer(StrictSerializer):
    full = StrictBooleanField(default=False,
                              help_text="Sync everything again, not only what changed.")
    connection = StrictIntegerField(
        required=False, min_value=1, max_value=2**63 - 1,  # a database integer
        help_text="One of your list connections; without it, all of them.")


class SkippedSerializer(serializers.Serializer):
    connection = serializers.IntegerField()
    provider = serializers.CharField()
    code = serializers.CharField(help_text="As the connection's own sync would answer (409).")
    message = serializers.CharField()


class LibrarySyncSerializer(serializers.Serializer):
    runs = SyncRunSerializer(many=True)
    pushes_queued = serializers.IntegerField(help_text="Waiting changes sent again now.")
    skipped = SkippedSerializer(many=True, help_text="Connections that could not sync.")


class ListSyncSerializer(serializers.Serializer):
    connection = serializers.IntegerField(source="connection_id")
    provider = serializers.CharField(source="connection.provider")
    sync_status = serializers.BooleanField()
    sync_progress = serializers.BooleanField()
    sync_ratings = serializers.BooleanField()
    sync_automatically = serializers.BooleanField(
        source="connection.auto_sync", help_text="The connection's auto_sync.")


class ListSyncUpdateSerializer(StrictSerializer):
    """PATCH body: any of the four; what is left out stays as it is."""

    sync_status = StrictBooleanField(required=False)
    sync_progress = StrictBooleanField(required=False)
    sync_ratings = StrictBooleanField(required=False)
    sync_automatically = StrictBooleanField(required=False)


# -- views -------------------------------------------------------------------------------------

class EntryFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=statuses.KINDS, required=False)
    status = serializers.ChoiceField(choices=statuses.STATUSES, required=False)
    service = serializers.ChoiceField(choices=list(TERMS), required=False)
    conflicts = serializers.ChoiceField(choices=["true", "false"], required=False)
    search = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)


LIST_PARAMETERS = [
    OpenApiParameter("kind", OpenApiTypes.STR, enum=list(MediaTitle.Kind.values)),
    OpenApiParameter("status", OpenApiTypes.STR, enum=list(statuses.STATUSES)),
    OpenApiParameter("service", OpenApiTypes.STR, enum=list(TERMS),
                     description="Only entries this service has."),
    OpenApiParameter("conflicts", OpenApiTypes.STR, enum=["true", "false"],
                     description="Only entries with (true) or without (false) conflicts."),
    OpenApiParameter("search", OpenApiTypes.STR,
                     description="Only entries whose names contain this (any case)."),
]


def _input_error(exc: LibraryInputError) -> BadRequest:
    return BadRequest(exc.message, fields={name: [message] for name, message in
                                           exc.errors.items()})


def _not_a_list_service(connection: Connection) -> BadRequest:
    return BadRequest(NOT_A_LIST_SERVICE.format(name=connection.provider_name),
                      code="not_a_list_service")


class LibraryEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Entries, newest first by id (stable while the pages are read, unlike the time of the
    last change, which a sync moves); removed entries are not listed but can be read."""

    serializer_class = EntrySerializer
    lookup_value_regex = "[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return LibraryEntry.objects.none()
        query = EntryFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        conflicts = given.get("conflicts")
        # Cut rather than refused, as the items' search (a NUL is refused by the field).
        search = given.get("search", "")[:SEARCH_MAX_LENGTH]
        return library_entries_for(
            user=self.request.user, kind=given.get("kind"), status=given.get("status"),
            provider=given.get("service"), search=search,
            conflicts=None if conflicts is None else conflicts == "true")

    def get_object(self) -> LibraryEntry:
        try:
            entry = library_entry_get(user=self.request.user, pk=self.kwargs["pk"])
        except ObjectDoesNotExist:
            raise Http404 from None
        entry.conflict_count = entry.conflicts.count()
        return entry

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=EntryDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(EntryDetailSerializer(self.get_object()).data)

    @extend_schema(request=EntryUpdateSerializer, responses=EntryDetailSerializer, description=(
        "Set the entry's values here and push them to each list service whose switches allow "
        "them; the answer shows each service's state (waiting while the push is queued)."))
    def partial_update(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        body = EntryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            entry = library_entry_update(entry=entry, values=body.validated_data,
                                         actor=f"api:{request.user.pk}")
        except LibraryInputError as exc:
            raise _input_error(exc) from None
        entry.conflict_count = entry.conflicts.count()
        return Response(EntryDetailSerializer(entry).data)

    @extend_schema(request=LibrarySyncRequestSerializer,
                   responses={202: LibrarySyncSerializer, 409: ErrorSerializer})
    @action(detail=False, methods=["post"])
    def sync(self, request: Request) -> Response:
        body = LibrarySyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        full, pk = body.validated_data["full"], body.validated_data.get("connection")
        connections = connections_for_owner(user=request.user).filter(provider__in=list(TERMS))
        if pk is not None:
            connection = connections_for_owner(user=request.user).filter(pk=pk).first()
            if connection is None:
                raise BadRequest(UNKNOWN_CONNECTION, code="unknown_connection",
                                 fields={"connection": [UNKNOWN_CONNECTION]})
            if connection.provider not in TERMS:
                raise _not_a_list_service(connection)
            connections = [connection]
        runs, skipped, queued = [], [], 0
        for connection in connections:
            try:
                run, pushes = self._sync_one(connection, full=full)
            except ApiError as exc:
                skipped.append({"connection": connection.pk, "provider": connection.provider,
                                "code": exc.code, "message": str(exc.detail)})
                continue
            queued += pushes
            runs.append(sync_run_get_for_user(user=request.user, connection_pk=connection.pk,
                                              pk=run.pk))
        if not runs:
            if not skipped:
                raise Conflict(NO_LIST_SERVICE, code="nothing_to_sync")
            raise Conflict(skipped[0]["message"], code=skipped[0]["code"])
        data = LibrarySyncSerializer({"runs": runs, "pushes_queued": queued,
                                      "skipped": skipped}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _sync_one(connection: Connection, *, full: bool) -> tuple[SyncRun, int]:
        """The connection's own sync checks, then the library's sync; ApiError when it
        cannot sync."""
        ConnectionViewSet._check_can_sync(connection)
        run, pushes = library_sync_now(connection=connection, full=full,
                                       trigger=SyncRun.Trigger.API)
        if run is None:
            # As the connection's sync: the state may have changed since the check.
            ConnectionViewSet._check_can_sync(
                Connection.objects.select_related("credential").get(pk=connection.pk))
            raise Conflict(SYNC_RUNNING, code="sync_running")
        return run, pushes


class ConflictViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Conflicts of every entry, newest first."""

    serializer_class = ConflictSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LibraryConflict.objects.none()
        unseen = self.request.query_params.get("unseen") == "true"
        return library_conflicts_for(user=self.request.user, unseen=unseen)

    @extend_schema(parameters=[OpenApiParameter(
        "unseen", OpenApiTypes.STR, enum=["true", "false"],
        description="true: only conflicts not yet seen.")])
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)


class ListSyncViewSet(viewsets.ViewSet):
    """/connections/{id}/list-sync/: what syncs with a list service, both ways."""

    def _connection(self, request: Request, pk: str) -> Connection:
        connection = connection_get_for_user(user=request.user, pk=pk)
        if connection.provider not in TERMS:
            raise _not_a_list_service(connection)
        return connection

    @extend_schema(responses=ListSyncSerializer, parameters=[CONNECTION_ID])
    def retrieve(self, request: Request, id: str) -> Response:
        connection = self._connection(request, id)
        row = library_settings_for(connection)
        row.connection = connection
        return Response(ListSyncSerializer(row).data)

    @extend_schema(request=ListSyncUpdateSerializer, responses=ListSyncSerializer,
                   parameters=[CONNECTION_ID])
    def partial_update(self, request: Request, id: str) -> Response:
        connection = self._connection(request, id)
        body = ListSyncUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        switches = dict(body.validated_data)
        automatically = switches.pop("sync_automatically", None)
        try:
            row = library_list_sync_update(connection=connection, switches=switches,
                                           sync_automatically=automatically,
                                           actor=f"api:{request.user.pk}")
        except LibraryInputError as exc:
            raise _input_error(exc) from None
        except IntegrationError as exc:  # not a list service: checked above, kept exact
            raise BadRequest(exc.message, code=exc.code) from None
        row.connection = connection
        return Response(ListSyncSerializer(row).data)
