"""/api/v1/providers/: the catalog, with the caller's state per provider, what a provider's
connect form asks for, and the caller's own OAuth app for it (``/providers/{slug}/app/``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..auth import AuthKind
from ..formfields import FormField
from ..oauth_apps import (
    PersonalAppInvalid,
    PersonalAppUnsupported,
    oauth_app_check_supported,
    oauth_app_delete,
    oauth_app_for,
    oauth_app_providers,
    oauth_app_redirect_uri,
    oauth_app_save,
    provider_available_for,
)
from ..providers.base import Action, Provider
from ..providers.registry import PROVIDERS
from ..selectors import CatalogEntry, catalog_for_user
from .errors import BadRequest
from .fields import StrictSerializer
from .list_pagination import KeyedListPagination
from .schema import ErrorSerializer
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
    available = serializers.BooleanField(
        help_text="Can be connected on this installation (for OAuth: with the site's app or "
                  "the caller's own).")
    personal_app = serializers.BooleanField(
        help_text="Takes the caller's own OAuth app (/providers/{slug}/app/).")
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


def entry_data(entry: CatalogEntry, own_apps: set[str]) -> dict:
    provider, connection = entry.provider, entry.connection
    return {
        "slug": provider.slug, "name": provider.name, "description": provider.description,
        "icon": provider.icon, "category": provider.category,
        "auth_kind": provider.auth.kind.value, "needs_oauth": provider.auth.via_allauth,
        "available": provider_available_for(provider, own_apps),
        "personal_app": provider.personal_app, "status": connection_status(connection),
        "connection_id": connection.pk if connection else None,
        "last_sync": connection.last_sync_at if connection else None,
        "actions": [{"name": a.name, "label": a.label} for a in provider.actions],
        "streams": [{"name": s.name, "label": s.label} for s in provider.streams],
        "proxy_available": _proxy_available(provider),
    }


def entry_detail_data(entry: CatalogEntry, own_apps: set[str]) -> dict:
    provider = entry.provider
    fields = () if provider.auth.via_allauth else provider.connect_fields()
    return {**entry_data(entry, own_apps),
            "connect_fields": [form_field_data(field) for field in fields],
            "action_declarations": [action_declaration_data(a) for a in provider.actions]}


NO_PERSONAL_APP = "You have not saved your own {name} app."


class PersonalAppRequestSerializer(StrictSerializer):
    client_id = serializers.CharField(max_length=255, help_text="From the provider's app page.")
    client_secret = serializers.CharField(
        max_length=1000, required=False, default="", allow_blank=True,
        help_text="Required the first time and when client_id changes; left out or empty "
                  "keeps the stored one. Never returned.")


class PersonalAppSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    has_secret = serializers.BooleanField(
        help_text="A secret is stored and readable (it is never shown).")
    created_at = serializers.DateTimeField()
    redirect_uri = serializers.URLField(
        help_text="Register this exact redirect URI in the app at the provider.")


def personal_app_data(request, provider: Provider, app) -> dict:
    return {"client_id": app.client_id, "has_secret": app.has_secret,
            "created_at": app.created_at, "redirect_uri": oauth_app_redirect_uri(request, provider)}


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
        own_apps = oauth_app_providers(user=request.user)
        rows = [entry_data(entry, own_apps) for entry in page]
        return self.get_paginated_response(ProviderSerializer(rows, many=True).data)

    @extend_schema(responses=ProviderDetailSerializer)
    def retrieve(self, request, slug: str):
        entry = next((e for e in self.get_queryset() if e.provider.slug == slug), None)
        if entry is None:
            raise NotFound("No such provider.")
        own_apps = oauth_app_providers(user=request.user)
        return Response(ProviderDetailSerializer(entry_detail_data(entry, own_apps)).data)

    @extend_schema(methods=["GET"], responses={200: PersonalAppSerializer, 400: ErrorSerializer,
                                               404: ErrorSerializer},
                   description="The caller's own OAuth app for this provider; 404 when none.")
    @extend_schema(methods=["PUT"], request=PersonalAppRequestSerializer,
                   responses={200: PersonalAppSerializer, 400: ErrorSerializer},
                   description=("Save the caller's own OAuth app: their connects then use it, "
                                "and its tokens are refreshed with it. The secret is stored "
                                "encrypted and never returned; leave it out to keep the "
                                "stored one (not with a new client_id). 400 "
                                "personal_app_unsupported for a provider that takes none."))
    @extend_schema(methods=["DELETE"], responses={204: None, 400: ErrorSerializer,
                                                  404: ErrorSerializer},
                   description=("Remove it. Connections made through it must reconnect when "
                                "their token needs renewing."))
    @action(detail=True, methods=["get", "put", "delete"], url_path="app", pagination_class=None)
    def app(self, request, slug: str):
        provider = PROVIDERS.get(slug)
        if provider is None:
            raise NotFound("No such provider.")
        try:
            oauth_app_check_supported(provider)
        except PersonalAppUnsupported as exc:
            raise BadRequest(exc.message, code=exc.code) from None
        actor = f"user:{request.user.pk}"
        if request.method == "PUT":
            body = PersonalAppRequestSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                app = oauth_app_save(user=request.user, provider=provider, actor=actor,
                                     **body.validated_data)
            except PersonalAppInvalid as exc:
                raise BadRequest(exc.message, fields={
                    name: [text] for name, text in exc.fields.items()}) from None
            return Response(PersonalAppSerializer(personal_app_data(request, provider, app)).data)
        if request.method == "DELETE":
            if not oauth_app_delete(user=request.user, provider=provider, actor=actor):
                raise NotFound(NO_PERSONAL_APP.format(name=provider.name))
            return Response(status=status.HTTP_204_NO_CONTENT)
        app = oauth_app_for(user=request.user, provider=provider.slug)
        if app is None:
            raise NotFound(NO_PERSONAL_APP.format(name=provider.name))
        return Response(PersonalAppSerializer(personal_app_data(request, provider, app)).data)
