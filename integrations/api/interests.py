"""/api/v1/interests/?purpose=...: what one purpose may use of the caller's interests, now.

Gated by consent at read time, like every hand-out: a purpose is required (there is no "all
interests" answer), and a withdrawn consent removes its interests from the next request.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets

from consent.purposes import PURPOSES

from ..models import UserInterest
from ..selectors import interest_rows_for_purpose
from .errors import BadRequest

PURPOSE_REQUIRED = "Say which purpose the interests are for: ?purpose=..."
UNKNOWN_PURPOSE = "No such purpose."


class InterestSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="interest.slug", read_only=True)
    label = serializers.CharField(source="interest.label", read_only=True)
    category = serializers.CharField(source="interest.category", read_only=True)
    provider = serializers.CharField(source="connection.provider", read_only=True,
                                     help_text="The provider whose data gave this interest.")

    class Meta:
        model = UserInterest
        fields = ["slug", "label", "category", "weight", "provider"]
        read_only_fields = fields


class InterestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InterestSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return UserInterest.objects.none()
        purpose = self.request.query_params.get("purpose", "")
        if not purpose:
            raise BadRequest(PURPOSE_REQUIRED, code="purpose_required",
                             fields={"purpose": [PURPOSE_REQUIRED]})
        if purpose not in PURPOSES:
            raise BadRequest(UNKNOWN_PURPOSE, code="unknown_purpose",
                             fields={"purpose": [UNKNOWN_PURPOSE]})
        return interest_rows_for_purpose(user=self.request.user, purpose=purpose)

    @extend_schema(
        parameters=[OpenApiParameter(
            "purpose", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
            enum=list(PURPOSES), description="Required; only what this purpose may use now.",
        )],
        summary="Your interests that one purpose may use",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
