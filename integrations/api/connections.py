"""/api/v1/connections/: connect, read, change the sync settings of, test, sync, purge (delete
what was imported, keeping the connection) and disconnect the caller's connections. The same
services as the pages; another person's connection is 404.

Decisions a client relies on (also in the schema):

* Connecting a provider already connected and working is 409 ``already_connected``; one that
  needs reconnecting (or whose stored credential cannot be read) is reconnected: 200 instead of
  201 for a credential kind, the usual 202 for OAuth.
* A failed test is not an error of the request: 200 with ``ok`` false and the outcome
  (``reconnect`` or ``retry``).
* A purge while a sync is queued or running is 409 ``sync_running``; nothing is deleted.
* A sync that cannot start is 409 with its reason's code: ``sync_running``, ``sync_disabled``,
  ``needs_reconnect``, ``not_active``, ``nothing_to_sync``.
"""

from __future__ import annotations

from django.db import IntegrityError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..exceptions import (
    ConnectionTestFailed,
    IntegrationError,
    ProviderNotAvailable,
    ReauthRequired,
    SyncInProgress,
)
from ..forms import ConnectForm
from ..models import Connection, SyncRun
from ..oauth_apps import oauth_app_providers, provider_available_for
from ..providers.registry import PROVIDERS
from ..providers.retired import is_retired, provider_or_retired
from ..redaction import redact_text
from ..selectors import connection_for_provider, connections_for_owner, sync_run_get_for_user
from ..services import (
    connection_connect_with_form,
    connection_data_purge,
    connection_disconnect,
    connection_test,
    connection_update_settings,
)
from ..sync import sync_request
from .errors import ApiError, BadRequest, Conflict
from .fields import StrictBooleanField, StrictSerializer
from .oauth_connect import authorize_url, return_to_check
from .schema import ErrorSerializer
from .serializers import (
    ConnectionSerializer,
    ConnectionSettingsSerializer,
    DisconnectSerializer,
    PurgeSerializer,
    SyncRunSerializer,
    connection_status,
    purge_data,
)

# Messages clients see; tests import them.
UNKNOWN_PROVIDER = "There is no provider called “{slug}”."
ALREADY_CONNECTED = "{name} is already connected. Disconnect it first to connect another account."
UNKNOWN_STREAM = "{name} has no stream called “{stream}”."
UNDECLARED_FIELDS = "{name} has no connect field called: {names}."
SYNC_RUNNING = "A sync of this connection is already queued or running."
SYNC_DISABLED = "Syncing is turned off for this connection (sync_enabled)."
NEEDS_RECONNECT = "{name} needs reconnecting before it can sync."
NOT_ACTIVE = "This connection is not active, so it cannot sync."
NOTHING_TO_SYNC = "{name} has no data to sync."


class ConnectRequestSerializer(StrictSerializer):
    provider = serializers.CharField(max_length=50, help_text="A provider's slug.")
    fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False,
        default=dict, help_text="The provider's connect fields (GET /providers/{slug}/).")
    return_to = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text="OAuth only: where the browser lands after the connect: a path of this site "
                  "or an address on an allowed origin.")


class AuthorizeSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        help_text="Open in the person's browser, signed in to this site as the same person.")
    expires_at = serializers.DateTimeField()


class SyncRequestSerializer(StrictSerializer):
    full = StrictBooleanField(default=False,
                              help_text="Sync everything again, not only what changed.")


# Inline rather than a nullable nested serializer: OpenAPI 3.0 validators ignore "nullable"
# beside an allOf reference, so the schema would refuse the null it documents.
ACCOUNT_SCHEMA = {
    "type": "object", "nullable": True, "required": ["external_id", "label"],
    "properties": {"external_id": {"type": "string"}, "label": {"type": "string"}},
    "description": "The account the credential belongs to; null when the test failed.",
}


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    account = extend_schema_field(ACCOUNT_SCHEMA)(serializers.JSONField())
    message = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(
        choices=["reconnect", "retry"], allow_null=True,
        help_text="When not ok: reconnect (the credential is refused) or retry (try later).")


def _usable(connection: Connection | None) -> bool:
    """Connected and working: connecting again would replace a working credential."""
    return connection is not None and connection_status(connection) == "connected"


class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    serializer_class = ConnectionSerializer
    lookup_value_regex = "[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return connections_for_owner(user=self.request.user)

    @extend_schema(request=ConnectRequestSerializer, responses={
        201: ConnectionSerializer, 200: ConnectionSerializer, 202: AuthorizeSerializer,
        409: ErrorSerializer,
    }, description=(
        "Credential kinds: the fields are tested with the provider, then saved (201; 200 when "
        "a connection that needed reconnecting was reconnected). OAuth kinds: 202 with an "
        "authorize_url for the person's browser, valid 10 minutes."))
    def create(self, request):
        body = ConnectRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        slug = body.validated_data["provider"]
        provider = PROVIDERS.get(slug)
        if provider is None:
            message = UNKNOWN_PROVIDER.format(slug=slug)
            raise BadRequest(message, code="unknown_provider", fields={"provider": [message]})
        if not provider_available_for(provider, oauth_app_providers(user=request.user)):
            raise BadRequest(provider.unavailable_reason() or f"{provider.name} is off here.",
                             code="provider_unavailable")
        existing = connection_for_provider(user=request.user, provider=provider.slug)
        if _usable(existing):
            raise Conflict(ALREADY_CONNECTED.format(name=provider.name), code="already_connected")
        if provider.auth.via_allauth:
            return self._authorize(request, provider, body.validated_data.get("return_to", ""))
        return self._connect_with_fields(request, provider, body.validated_data["fields"],
                                         reconnect=existing is not None)

    def _connect_with_fields(self, request, provider, fields: dict, *,
                             reconnect: bool) -> Response:
        """The page's connect: the form's checks, then the provider's test before saving."""
        form = ConnectForm(fields, provider=provider)
        undeclared = sorted(set(fields) - set(form.fields))
        if undeclared:  # a form would drop it; from a client it is a typo
            message = UNDECLARED_FIELDS.format(name=provider.name, names=", ".join(undeclared))
            raise BadRequest(message, fields={"fields": [message]})
        if not form.is_valid():
            raise BadRequest("The connect fields have errors; see fields.",
                             fields={name: list(errors) for name, errors in form.errors.items()})
        try:
            connection = connection_connect_with_form(user=request.user, provider=provider,
                                                      fields=form.cleaned_data)
        except ConnectionTestFailed as exc:
            raise BadRequest(exc.message, code="test_failed",
                             fields={"non_field_errors": [exc.message]}) from None
        except ProviderNotAvailable as exc:
            raise BadRequest(exc.message, code="provider_unavailable") from None
        except IntegrityError:  # connected by a request that ran at the same moment
            raise Conflict(ALREADY_CONNECTED.format(name=provider.name),
                           code="already_connected") from None
        connection = connections_for_owner(user=request.user).get(pk=connection.pk)
        return Response(ConnectionSerializer(connection).data,
                        status=status.HTTP_200_OK if reconnect else status.HTTP_201_CREATED)

    def _authorize(self, request, provider, return_to: str) -> Response:
        if return_to:
            try:
                return_to_check(return_to)
            except ValueError as exc:
                raise BadRequest(str(exc), fields={"return_to": [str(exc)]}) from None
        url, expires_at = authorize_url(request, user=request.user, provider=provider,
                                        return_to=return_to)
        data = AuthorizeSerializer({"authorize_url": url, "expires_at": expires_at}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ConnectionSettingsSerializer, responses=ConnectionSerializer)
    def partial_update(self, request, pk: str):
        connection = self.get_object()
        body = ConnectionSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            connection_update_settings(connection=connection, **body.validated_data,
                                       actor=f"api:{request.user.pk}")
        except KeyError as exc:
            message = UNKNOWN_STREAM.format(name=connection.provider_name,
                                            stream=str(exc.args[0])[:50])
            raise BadRequest(message, fields={"streams": [message]}) from None
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(responses={200: DisconnectSerializer}, description=(
        "Disconnect: revoke access at the provider where it can be (best effort), then delete "
        "the stored credential and everything the purge deletes (items, interests, checkpoints, "
        "the library entries only this connection fed, its pushes and conflicts) and the sync "
        "history. Never refused for a running sync: that sync can save nothing more. 200 says "
        "whether it was revoked."))
    def destroy(self, request, pk: str):
        connection = self.get_object()
        result = connection_disconnect(connection=connection, actor=f"api:{request.user.pk}")
        return Response(DisconnectSerializer(result).data)

    @extend_schema(request=None, responses={200: PurgeSerializer, 409: ErrorSerializer},
                   description=(
        "Delete what was imported from this connection, keeping the connection, its credential "
        "and settings: items, interests, stream checkpoints (the next sync starts over), the "
        "library entries only this connection fed (entries another service also has stay), "
        "and this connection's library pushes and conflicts. Done before the answer: 200 "
        "with what was deleted; 409 sync_running while a sync is queued or running."))
    @action(detail=True, methods=["post"])
    def purge(self, request, pk: str):
        connection = self.get_object()
        try:
            result = connection_data_purge(connection=connection, actor=f"api:{request.user.pk}")
        except SyncInProgress as exc:
            raise Conflict(exc.message, code=exc.code) from None
        return Response(PurgeSerializer(purge_data(result)).data)

    @extend_schema(request=None, responses=TestResultSerializer, description=(
        "A cheap authenticated call with the stored credential. A refusal is an answer, not an "
        "error: 200 with ok false and whether to reconnect or retry later."))
    @action(detail=True, methods=["post"])
    def test(self, request, pk: str):
        connection = self.get_object()
        try:
            account = connection_test(connection=connection)
        except IntegrationError as exc:
            # Refused (at a test, a ConnectionTestFailed): only a new credential helps.
            refused = isinstance(exc, (ReauthRequired, ConnectionTestFailed))
            outcome = "reconnect" if refused else "retry"
            data = {"ok": False, "account": None, "message": redact_text(exc.message),
                    "outcome": outcome}
        else:
            data = {"ok": True, "message": "", "outcome": None,
                    "account": {"external_id": account.external_id, "label": account.label}}
        return Response(TestResultSerializer(data).data)

    @extend_schema(request=SyncRequestSerializer,
                   responses={202: SyncRunSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk: str):
        connection = self.get_object()
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._check_can_sync(connection)
        run = sync_request(connection=connection, trigger=SyncRun.Trigger.API,
                           full=body.validated_data["full"])
        if run is None:
            # The claim refused: the state may have changed since the check (a PATCH turning
            # sync off, a reauth), so the check runs again on a fresh read to say why.
            self._check_can_sync(self.get_object())
            raise Conflict(SYNC_RUNNING, code="sync_running")
        # The run comes back with only its id loaded: read it whole, once.
        run = sync_run_get_for_user(user=request.user, connection_pk=connection.pk, pk=run.pk)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _check_can_sync(connection: Connection) -> None:
        """The page's "Sync now" checks, as 409s with a code per reason."""
        provider = provider_or_retired(connection.provider)
        if is_retired(provider) or not provider.streams:
            raise Conflict(NOTHING_TO_SYNC.format(name=provider.name), code="nothing_to_sync")
        state = connection_status(connection)
        if state == "needs_reauth":
            raise Conflict(NEEDS_RECONNECT.format(name=provider.name), code="needs_reconnect")
        if not connection.sync_enabled:
            raise Conflict(SYNC_DISABLED, code="sync_disabled")
        if state != "connected":
            raise ApiError(status_code=status.HTTP_409_CONFLICT, code="not_active",
                           message=NOT_ACTIVE)
