"""/api/v1/connections/{id}/runs/ and /items/: a connection's sync runs and imported items.

The connection is looked up among the caller's first, so another person's is 404 before
anything of it is read.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from ..models import Connection
from ..providers.retired import provider_or_retired
from ..selectors import connection_get_for_user, items_for_owner
from .connections import UNKNOWN_STREAM
from .errors import BadRequest
from .serializers import ItemSerializer, SyncRunSerializer

CONNECTION_ID = OpenApiParameter("connection_pk", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description="The connection's id.")
SEARCH_MAX_LENGTH = 100


class ConnectionChildMixin:
    """Nested under /connections/{connection_pk}/: the caller's connection, or 404."""

    _connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = connection_get_for_user(user=self.request.user,
                                                       pk=self.kwargs["connection_pk"])
        return self._connection


@extend_schema_view(list=extend_schema(parameters=[CONNECTION_ID]),
                    retrieve=extend_schema(parameters=[CONNECTION_ID]))
class SyncRunViewSet(ConnectionChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
    """Sync runs, newest first."""

    serializer_class = SyncRunSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        return self.connection.sync_runs.all()


@extend_schema_view(list=extend_schema(parameters=[
    CONNECTION_ID,
    OpenApiParameter("stream", OpenApiTypes.STR, description="Only this stream's items."),
    OpenApiParameter("search", OpenApiTypes.STR,
                     description="Only items whose title contains this (any case)."),
]))
class ItemViewSet(ConnectionChildMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Live imported items (not those a full sync found gone), newest first."""

    serializer_class = ItemSerializer

    def get_queryset(self):
        connection = self.connection
        kind = None
        stream = self.request.query_params.get("stream")
        if stream is not None:
            provider = provider_or_retired(connection.provider)
            try:
                kind = provider.get_stream(stream).kind
            except KeyError:
                message = UNKNOWN_STREAM.format(name=provider.name, stream=stream[:50])
                raise BadRequest(message, fields={"stream": [message]}) from None
        # PostgreSQL refuses a NUL in a string literal: it can be in no title anyway.
        query = self.request.query_params.get("search", "").replace("\x00", "")
        query = query.strip()[:SEARCH_MAX_LENGTH]
        return items_for_owner(connection=connection, kind=kind, query=query)
