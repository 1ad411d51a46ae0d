"""Strict input for every write body of the API.

DRF's defaults are forgiving in ways that hide a client's mistakes: a key that is not a
writable field is dropped (``{"sync_enabld": false}`` answers 200 having changed nothing), and
BooleanField reads "no", "off", 0 or "1" as a choice. A write body here is taken literally.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "This field cannot be changed."


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictInputMixin:
    """Refuses (400, one message per key) any key of the body that is not a writable field.

    Put it first among a serializer's bases. Checked before the fields' own checks, so a body
    with a typo changes nothing even when its other keys are valid.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {str(key): [READ_ONLY_FIELD if key in self.fields else UNKNOWN_FIELD]
                      for key in data if key not in writable}
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    """A write body's serializer: unknown keys refused."""
