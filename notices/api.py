"""/api/v1/notices/: the caller's notices, newest first, and marking them all read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Notice
from .selectors import notices_for_user
from .services import notices_mark_all_read


class NoticeSerializer(serializers.ModelSerializer):
    connection = serializers.IntegerField(
        source="connection_id", read_only=True, allow_null=True,
        help_text="The connection it is about; null once that connection is gone.")
    emailed = serializers.SerializerMethodField(help_text="Whether an e-mail was sent for it.")

    class Meta:
        model = Notice
        fields = ["id", "kind", "state", "title", "body", "provider", "connection",
                  "created_at", "read_at", "resolved_at", "emailed"]
        read_only_fields = fields

    def get_emailed(self, notice: Notice) -> bool:
        return notice.emailed_at is not None


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many were unread.")


class NoticeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = NoticeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return Notice.objects.none()
        return notices_for_user(user=self.request.user)

    @extend_schema(summary="Your notices, newest first",
                   description="Unread ones have read_at null.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=MarkedReadSerializer,
                   summary="Mark all your notices read")
    @action(detail=False, methods=["post"], url_path="read")
    def read(self, request: Request) -> Response:
        marked = notices_mark_all_read(user=request.user)
        return Response(MarkedReadSerializer({"marked": marked}).data)
