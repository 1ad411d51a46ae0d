"""/api/v1/consent/: the person's answers per purpose and per provider, and their history.

The same services and selectors as the consent page; a change made here is an event with the
source "api". A per-provider answer can also be removed (DELETE), so the answer for every
provider applies again. An unknown purpose in a URL is 404 (no such resource); an unknown
provider is 400, as everywhere in the API.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.api.errors import ApiError, BadRequest
from integrations.api.fields import StrictBooleanField, StrictSerializer
from integrations.providers.registry import PROVIDERS

from .models import ConsentEvent
from .purposes import PURPOSES
from .selectors import PurposeConsent, consent_by_purpose, consent_events_for_owner
from .services import consent_clear, consent_set

UNKNOWN_PURPOSE = "No such purpose."
UNKNOWN_PROVIDER = "No such provider."


class ProviderAnswerSerializer(serializers.Serializer):
    provider = serializers.CharField(read_only=True)
    granted = serializers.BooleanField(read_only=True)


class PurposeConsentSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    granted = serializers.BooleanField(
        read_only=True, allow_null=True,
        help_text="The answer for every provider; null when never given, which means no.",
    )
    providers = ProviderAnswerSerializer(
        many=True, read_only=True,
        help_text="Answers for one provider, which win over the answer for every provider.",
    )


@extend_schema_serializer(many=False)  # one object holding the purposes, not a list to page
class ConsentSerializer(serializers.Serializer):
    purposes = PurposeConsentSerializer(many=True, read_only=True)


class ConsentAnswerSerializer(StrictSerializer):
    granted = StrictBooleanField()


class ConsentEventSerializer(serializers.ModelSerializer):
    # Plain text, not the current catalog's choices: history outlives a retired purpose.
    purpose = serializers.CharField(read_only=True)
    provider = serializers.SerializerMethodField(
        help_text="The provider the answer was for; null when for every provider.")
    granted = serializers.BooleanField(
        read_only=True, allow_null=True,
        help_text="null: the answer for this provider was removed (the answer for every "
                  "provider applies again).")

    class Meta:
        model = ConsentEvent
        fields = ["purpose", "provider", "granted", "source", "policy_version", "at"]
        read_only_fields = fields

    def get_provider(self, event: ConsentEvent) -> str | None:
        return event.provider or None


PURPOSE_PARAMETER = OpenApiParameter(
    "purpose", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PURPOSES),
    description="An unknown purpose is 404.",
)
PROVIDER_PARAMETER = OpenApiParameter(
    "provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PROVIDERS),
    description="An unknown provider is 400.",
)


def _purpose_or_404(slug: str) -> None:
    if slug not in PURPOSES:
        raise ApiError(status_code=status.HTTP_404_NOT_FOUND, code="unknown_purpose",
                       message=UNKNOWN_PURPOSE)


class ConsentViewSet(viewsets.ViewSet):
    """The answers: one object, so not paged. A plain ViewSet: there is no queryset to page
    or to look an object up in."""

    def _answer(self, request: Request, *, purpose: str, provider: str = "") -> Response:
        answer = ConsentAnswerSerializer(data=request.data)
        answer.is_valid(raise_exception=True)
        consent_set(user=request.user, purpose=purpose, provider=provider,
                    granted=answer.validated_data["granted"], source=ConsentEvent.Source.API)
        return Response(PurposeConsentSerializer(self._purpose(purpose)).data)

    def _purpose(self, slug: str) -> PurposeConsent:
        return next(p for p in consent_by_purpose(user=self.request.user) if p.slug == slug)

    @extend_schema(responses=ConsentSerializer, summary="Your answer for every purpose")
    def list(self, request: Request) -> Response:
        return Response(ConsentSerializer({"purposes": consent_by_purpose(user=request.user)}).data)

    @extend_schema(request=ConsentAnswerSerializer, responses=PurposeConsentSerializer,
                   parameters=[PURPOSE_PARAMETER], summary="Answer for every provider")
    @action(detail=False, methods=["put"], url_path=r"purposes/(?P<purpose>[^/.]+)")
    def purpose(self, request: Request, purpose: str) -> Response:
        _purpose_or_404(purpose)
        return self._answer(request, purpose=purpose)

    @extend_schema(methods=["PUT"], request=ConsentAnswerSerializer,
                   responses=PurposeConsentSerializer,
                   parameters=[PURPOSE_PARAMETER, PROVIDER_PARAMETER],
                   summary="Answer for one provider")
    @extend_schema(methods=["DELETE"], request=None, responses={200: PurposeConsentSerializer},
                   parameters=[PURPOSE_PARAMETER, PROVIDER_PARAMETER],
                   summary="Remove the answer for one provider",
                   description="The answer for every provider applies to it again.")
    @action(detail=False, methods=["put", "delete"],
            url_path=r"purposes/(?P<purpose>[^/.]+)/providers/(?P<provider>[^/.]+)")
    def purpose_provider(self, request: Request, purpose: str, provider: str) -> Response:
        _purpose_or_404(purpose)
        if provider not in PROVIDERS:
            raise BadRequest(UNKNOWN_PROVIDER, code="unknown_provider",
                             fields={"provider": [UNKNOWN_PROVIDER]})
        if request.method == "DELETE":
            consent_clear(user=request.user, purpose=purpose, provider=provider,
                          source=ConsentEvent.Source.API)
            return Response(PurposeConsentSerializer(self._purpose(purpose)).data)
        return self._answer(request, purpose=purpose, provider=provider)


class ConsentHistoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """/api/v1/consent/history/: every change, newest first, paged."""

    serializer_class = ConsentEventSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return ConsentEvent.objects.none()
        return consent_events_for_owner(user=self.request.user)

    @extend_schema(summary="Your consent changes, newest first")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
