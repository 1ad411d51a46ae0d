"""/api/v1/providers/: the catalog, with the caller's state per provider, and what a provider's
connect form asks for."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..auth import AuthKind
from ..formfields import FormField
from ..providers.base import Action, Provider
from ..selectors import CatalogEntry, catalog_for_user
from .list_pagination import KeyedListPagination
from .serializers import STATUS_CHOICES, connection_status


class DeclaredSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class FormFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    help_text = serializers.CharField(allow_blank=True)
    secret = serializers.BooleanField(help_text="Never shown again once sent.")
    required = serializers.BooleanField()
    max_length = serializers.IntegerField()
    multiline = serializers.BooleanField()
    choices = ChoiceSerializer(many=True, help_text="The only values allowed, when not empty.")


class ActionDeclarationSerializer(DeclaredSerializer):
    description = serializers.CharField(allow_blank=True)
    idempotent = serializers.BooleanField(
        help_text="Sending it twice has the effect of once at the provider.")
    scopes = serializers.ListField(child=serializers.CharField())
    fields = FormFieldSerializer(many=True)


class ProviderSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    icon = serializers.CharField(allow_blank=True)
    category = serializers.CharField(allow_blank=True)
    auth_kind = serializers.ChoiceField(choices=[kind.value for kind in AuthKind])
    needs_oauth = serializers.BooleanField(
        help_text="Connected in the person's browser (POST /connections/ answers an "
                  "authorize_url), not with a form.")
    available = serializers.BooleanField(help_text="Can be connected on this installation.")
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    connection_id = serializers.IntegerField(allow_null=True)
    last_sync = serializers.DateTimeField(allow_null=True)
    actions = DeclaredSerializer(many=True)
    streams = DeclaredSerializer(many=True)
    proxy_available = serializers.BooleanField()


class ProviderDetailSerializer(ProviderSerializer):
    connect_fields = FormFieldSerializer(
        many=True, help_text="What POST /connections/ needs in `fields` (empty for OAuth).")
    action_declarations = ActionDeclarationSerializer(
        many=True, help_text="Each action's input, for POST /connections/{id}/actions/{name}/.")


def form_field_data(field: FormField) -> dict:
    return {"name": field.name, "label": field.label, "help_text": field.help_text,
            "secret": field.secret, "required": field.required, "max_length": field.max_length,
            "multiline": field.multiline,
            "choices": [{"value": value, "label": label} for value, label in field.choices]}


def action_declaration_data(action: Action) -> dict:
    return {"name": action.name, "label": action.label, "description": action.description,
            "idempotent": action.idempotent, "scopes": list(action.scopes),
            "fields": [form_field_data(field) for field in action.fields]}


def _proxy_available(provider: Provider) -> bool:
    spec = provider.proxy
    return spec is not None and bool(spec.endpoints or spec.any_path)


def entry_data(entry: CatalogEntry) -> dict:
    provider, connection = entry.provider, entry.connection
    return {
        "slug": provider.slug, "name": provider.name, "description": provider.description,
        "icon": provider.icon, "category": provider.category,
        "auth_kind": provider.auth.kind.value, "needs_oauth": provider.auth.via_allauth,
        "available": provider.is_available(), "status": connection_status(connection),
        "connection_id": connection.pk if connection else None,
        "last_sync": connection.last_sync_at if connection else None,
        "actions": [{"name": a.name, "label": a.label} for a in provider.actions],
        "streams": [{"name": s.name, "label": s.label} for s in provider.streams],
        "proxy_available": _proxy_available(provider),
    }


def entry_detail_data(entry: CatalogEntry) -> dict:
    provider = entry.provider
    fields = () if provider.auth.via_allauth else provider.connect_fields()
    return {**entry_data(entry),
            "connect_fields": [form_field_data(field) for field in fields],
            "action_declarations": [action_declaration_data(a) for a in provider.actions]}


class CatalogPagination(KeyedListPagination):
    key = staticmethod(lambda entry: entry.provider.slug)


@extend_schema_view(
    retrieve=extend_schema(parameters=[OpenApiParameter("slug", OpenApiTypes.STR,
                                                        OpenApiParameter.PATH)]),
)
class ProviderViewSet(viewsets.GenericViewSet):
    """The catalog, ordered by slug, with the caller's connection state per provider."""

    serializer_class = ProviderSerializer
    pagination_class = CatalogPagination
    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9_-]{1,50}"

    def get_queryset(self):  # a list, not a queryset: the catalog is code
        return catalog_for_user(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        rows = [entry_data(entry) for entry in page]
        return self.get_paginated_response(ProviderSerializer(rows, many=True).data)

    @extend_schema(responses=ProviderDetailSerializer)
    def retrieve(self, request, slug: str):
        entry = next((e for e in self.get_queryset() if e.provider.slug == slug), None)
        if entry is None:
            raise NotFound("No such provider.")
        return Response(ProviderDetailSerializer(entry_detail_data(entry)).data)
