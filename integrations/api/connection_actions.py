"""Writes to a provider through a connection (DESIGN.md section 12).

* ``GET /connections/{id}/actions/``: what can be done: the provider's declared actions with
  their input fields, and the scopes this connection lacks for each.
* ``POST /connections/{id}/actions/{name}/``: do one, through ``connection_action_perform``.
  ``idempotency_key`` is required: a second POST with the same key and the same data answers
  the first's run and sends nothing; with other data it is 409 ``idempotency_key_reused``.
  A failure at the provider is not an error of the request: 200 with the run, its status
  ``failed`` and its (redacted) error.
* ``GET /connections/{id}/action-runs/``: what was done, newest first.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..actions import KEY_PATTERN, connection_action_perform
from ..exceptions import ActionRejected, IdempotencyKeyReused
from ..models import ActionRun
from ..providers.retired import provider_or_retired
from .connection_data import CONNECTION_ID, ConnectionChildMixin
from .errors import ApiError, BadRequest, Conflict
from .fields import StrictSerializer
from .list_pagination import ByNamePagination
from .providers import ActionDeclarationSerializer, action_declaration_data
from .schema import ErrorSerializer
from .serializers import ActionRunSerializer, connection_status

NO_SUCH_ACTION = "No such action."
UNDECLARED_DATA = "The action has no field called: {names}."
NEEDS_RECONNECT = "{name} needs reconnecting before it can do this."


class ConnectionActionSerializer(ActionDeclarationSerializer):
    missing_scopes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Scopes the action needs that this connection was not granted: reconnect "
                  "to grant them.")


class ActionRequestSerializer(StrictSerializer):
    data = serializers.DictField(child=serializers.JSONField(), required=False, default=dict,
                                 help_text="The action's fields (strings), by name.")
    idempotency_key = serializers.RegexField(
        rf"\A(?:{KEY_PATTERN.pattern})\Z", max_length=64,
        help_text="Unique per intended write: the same key again answers the first result.")


@extend_schema_view(list=extend_schema(parameters=[CONNECTION_ID]))
class ConnectionActionViewSet(ConnectionChildMixin, viewsets.GenericViewSet):
    serializer_class = ConnectionActionSerializer
    pagination_class = ByNamePagination
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9_-]{1,50}"

    def get_queryset(self):  # declared in code: a list
        return list(provider_or_retired(self.connection.provider).actions)

    def list(self, request, connection_pk: str):
        granted = set(self.connection.scopes or ())
        page = self.paginate_queryset(self.get_queryset())
        rows = [{**action_declaration_data(action),
                 "missing_scopes": [s for s in action.scopes if s not in granted]}
                for action in page]
        return self.get_paginated_response(ConnectionActionSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[CONNECTION_ID, OpenApiParameter("name", OpenApiTypes.STR,
                                                    OpenApiParameter.PATH)],
        request=ActionRequestSerializer,
        responses={200: ActionRunSerializer, 409: ErrorSerializer},
        description="Do the action once per idempotency_key. 400 with a message per field "
                    "for bad input; 409 idempotency_key_reused when the key was used for "
                    "another action or with other data; 409 needs_reconnect when the "
                    "connection is not active.")
    def perform(self, request, connection_pk: str, name: str):
        connection = self.connection
        provider = provider_or_retired(connection.provider)
        try:
            declared = provider.get_action(name)
        except KeyError:
            raise NotFound(NO_SUCH_ACTION) from None
        body = ActionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The service drops undeclared fields (a page posts only declared ones); from a
        # client one is a typo of a field that would then be sent empty.
        undeclared = sorted(set(body.validated_data["data"]) - {f.name for f in declared.fields})
        if undeclared:
            message = UNDECLARED_DATA.format(names=", ".join(undeclared))
            raise BadRequest(message, fields={"data": [message]})
        key = body.validated_data["idempotency_key"]
        replay = ActionRun.objects.filter(connection=connection, idempotency_key=key).exists()
        if not replay and connection_status(connection) != "connected":
            raise ApiError(status_code=status.HTTP_409_CONFLICT, code="needs_reconnect",
                           message=NEEDS_RECONNECT.format(name=provider.name))
        try:
            run = connection_action_perform(
                connection=connection, action=declared.name, data=body.validated_data["data"],
                idempotency_key=key, actor=f"api:{request.user.pk}")
        except IdempotencyKeyReused as exc:
            raise Conflict(exc.message, code="idempotency_key_reused") from None
        except ActionRejected as exc:
            if exc.errors:
                raise BadRequest(exc.message, fields={
                    field: [message] for field, message in exc.errors.items()}) from None
            raise ApiError(status_code=status.HTTP_409_CONFLICT, code="action_rejected",
                           message=exc.message) from None
        return Response(ActionRunSerializer(run).data)


@extend_schema_view(list=extend_schema(parameters=[CONNECTION_ID]),
                    retrieve=extend_schema(parameters=[CONNECTION_ID]))
class ActionRunViewSet(ConnectionChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    """Actions done through this connection, newest first."""

    serializer_class = ActionRunSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        return self.connection.action_runs.all()
