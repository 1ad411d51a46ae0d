"""/api/v1/tokens/: list, create (the value shown once) and revoke personal API tokens."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from ..api_tokens import (
    DEFAULT_EXPIRY_DAYS,
    TokenLimitReached,
    TokenNotAllowed,
    api_token_create,
    api_token_revoke,
    api_tokens_for_owner,
)
from ..models import ApiToken
from .errors import ApiError, BadRequest, Conflict
from .fields import StrictSerializer
from .pagination import NewestFirstCursorPagination
from .schema import ErrorSerializer


class ApiTokenSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="token_key", read_only=True,
                                help_text="The token's first characters, to tell it apart.")
    expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["key", "name", "created", "expiry", "last_used_at", "expired"]
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        default=DEFAULT_EXPIRY_DAYS, min_value=1, max_value=settings.THINKALIKE_API_TOKEN_MAX_DAYS)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class NewestTokenFirst(NewestFirstCursorPagination):
    ordering = "-created"


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiTokenSerializer
    lookup_field = "token_key"
    lookup_url_kwarg = "key"
    lookup_value_regex = "[A-Za-z0-9_]{1,25}"
    pagination_class = NewestTokenFirst

    def get_queryset(self):
        return api_tokens_for_owner(user=self.request.user)

    def _request_token(self) -> ApiToken | None:
        """The token this request came with (None for the site's own session requests)."""
        return self.request.auth if isinstance(self.request.auth, ApiToken) else None

    @extend_schema(request=ApiTokenCreateSerializer,
                   responses={201: ApiTokenCreatedSerializer, 409: ErrorSerializer})
    def create(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token, plain = api_token_create(user=request.user, **data.validated_data,
                                            made_with=self._request_token())
        except ValueError as exc:
            raise BadRequest(str(exc), fields={"expires_in_days": [str(exc)]}) from None
        except TokenLimitReached as exc:
            raise Conflict(str(exc), code="token_limit") from None
        token.token = plain
        # The only answer that ever holds the token: no cache (browser or proxy) may keep it.
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})

    @extend_schema(responses={204: None})
    def destroy(self, request, key: str):
        self.get_object()  # 404 when it is not the caller's
        try:
            api_token_revoke(user=request.user, token_key=key, revoked_with=self._request_token())
        except TokenNotAllowed as exc:
            raise ApiError(status_code=status.HTTP_403_FORBIDDEN, code="session_required",
                           message=str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
