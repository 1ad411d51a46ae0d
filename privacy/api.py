"""/api/v1/data/purge/ and /api/v1/account/: delete everything, or the account itself."""

from __future__ import annotations

from django.contrib.auth import logout
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.api.errors import ApiError, BadRequest, Conflict, error_body
from integrations.api.fields import StrictSerializer
from integrations.api.schema import ErrorSerializer

from .password_tries import PASSWORD_TRIES, password_try_claim
from .services import (
    PURGE_ALL_REFUSED,
    AccountDeletionIncomplete,
    account_delete,
    user_data_purge_all,
)

WRONG_PASSWORD = "That is not your password; nothing was deleted."
TOO_MANY_TRIES = (
    f"More than {PASSWORD_TRIES} password tries this hour; nothing was deleted. Try again later."
)
COUNT_NAMES = ("items", "interests", "checkpoints", "library_entries", "library_pushes",
               "library_conflicts")


class PurgeCountsSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="Imported items deleted (their mappings).")
    interests = serializers.IntegerField(help_text="Interests deleted.")
    checkpoints = serializers.IntegerField(
        help_text="Stream checkpoints deleted: the next syncs start over.")
    library_entries = serializers.IntegerField(help_text="Library entries deleted.")
    library_pushes = serializers.IntegerField(help_text="Library changes waiting, deleted.")
    library_conflicts = serializers.IntegerField(help_text="Recorded library conflicts, deleted.")


class RefusedConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    name = serializers.CharField()
    label = serializers.CharField(allow_blank=True)


class PurgeAllSerializer(serializers.Serializer):
    deleted = PurgeCountsSerializer()
    connections = serializers.IntegerField(help_text="Connections whose data was deleted.")
    refused = RefusedConnectionSerializer(
        many=True, help_text="Connections left as they were: a sync held them.")


class PurgeErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class PurgeAllRefusedSerializer(PurgeAllSerializer):
    """The one error shape, with what was deleted anyway and the connections left alone."""

    error = PurgeErrorDetailSerializer()


class PasswordSerializer(StrictSerializer):
    password = serializers.CharField(trim_whitespace=False, max_length=4096,
                                     style={"input_type": "password"})


def _counts(counts) -> dict[str, int]:
    return {name: counts.get(name, 0) for name in COUNT_NAMES}


class DataPurgeView(GenericAPIView):
    """POST /api/v1/data/purge/"""

    serializer_class = PasswordSerializer

    @extend_schema(request=PasswordSerializer,
                   responses={200: PurgeAllSerializer, 409: PurgeAllRefusedSerializer},
                   summary="Delete all your imported data, keeping the account", description=(
        "For every connection, what its purge deletes (items, interests, checkpoints, the "
        "library entries only it fed, its pushes and conflicts), each connection in its own "
        "transaction; then your library entries no service feeds (added here). Connections, "
        "credentials, settings, consent history, API tokens and OAuth apps stay. 200 with the "
        "counts; 409 sync_running when a sync held some connection: the others were purged, "
        "and the body's refused (and error.fields.refused, their ids) names the ones left as "
        "they were. Body (JSON): {\"password\": \"...\"}, your account's password; 400 "
        "wrong_password (nothing deleted); 429 too_many_tries after 5 tries in an hour, "
        "counted with DELETE /api/v1/account/'s."))
    def post(self, request: Request) -> Response:
        password_checked(request)
        result = user_data_purge_all(user=request.user, actor=f"api:{request.user.pk}")
        data = PurgeAllSerializer({"deleted": _counts(result.counts),
                                   "connections": result.connections,
                                   "refused": result.refused}).data
        if result.refused:
            names = ", ".join(refused.name for refused in result.refused)
            body = error_body("sync_running", PURGE_ALL_REFUSED.format(names=names),
                              {"refused": [str(refused.id) for refused in result.refused]})
            return Response({**body, **data}, status=status.HTTP_409_CONFLICT)
        return Response(data)


def password_checked(request: Request) -> None:
    """The body's password, checked after claiming one of the hour's tries (password_tries):
    a stolen token or an open session must not buy a guessing machine. Raises 429
    too_many_tries (with Retry-After) or 400 wrong_password."""
    body = PasswordSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    wait = password_try_claim(user_id=request.user.pk)
    if wait is not None:
        raise ApiError(status_code=status.HTTP_429_TOO_MANY_REQUESTS, code="too_many_tries",
                       message=TOO_MANY_TRIES, headers={"Retry-After": str(wait)})
    if not request.user.check_password(body.validated_data["password"]):
        raise BadRequest(WRONG_PASSWORD, code="wrong_password",
                         fields={"password": [WRONG_PASSWORD]})


class RevokeSerializer(serializers.Serializer):
    provider = serializers.CharField()
    name = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    revoked = serializers.BooleanField(help_text="Access was revoked at the provider.")
    note = serializers.CharField(
        allow_blank=True, help_text="Why not, and where to revoke it yourself, when it was not.")


class AccountView(GenericAPIView):
    """DELETE /api/v1/account/"""

    serializer_class = PasswordSerializer

    @extend_schema(
        request=PasswordSerializer,
        responses={200: inline_serializer("AccountDeleted", {
            "deleted": serializers.BooleanField(),
            "revokes": RevokeSerializer(many=True)}), 409: ErrorSerializer},
        summary="Delete your account",
        description=(
            "Body (JSON): {\"password\": \"...\"}, your account's password: a session or a token "
            "alone cannot delete an account. Disconnects every connection (each token is "
            "revoked at its provider where it can be, best effort: a failure keeps no data "
            "here), deletes everything held about you, then the account; the token used stops "
            "working. 200 with the revocation result per connection; 400 wrong_password (nothing "
            "deleted); 429 too_many_tries after 5 tries in an hour (counted with POST "
            "/api/v1/data/purge/'s); 409 deletion_incomplete when a service was connected "
            "while the account was deleted (the others were disconnected; the account stays)."))
    def delete(self, request: Request) -> Response:
        password_checked(request)
        try:
            result = account_delete(user=request.user)
        except AccountDeletionIncomplete as exc:
            raise Conflict(str(exc), code="deletion_incomplete") from None
        logout(request._request)
        revokes = [{"provider": r.provider, "name": r.name, "label": r.label,
                    "revoked": r.revoked, "note": r.note} for r in result.revokes]
        return Response({"deleted": True, "revokes": RevokeSerializer(revokes, many=True).data})
