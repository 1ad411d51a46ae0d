"""Forms built from declared fields: the connect form of credential-based providers (the
provider's own fields and its auth strategy's), and the form of each provider action."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping

from django import forms
from django.core.exceptions import ValidationError

from .formfields import FormField
from .providers.base import Action, Provider

INVALID_VALUE = "Enter a valid {label}."


def _pattern_validator(field: FormField):
    regex = re.compile(field.pattern)

    def validate(value: str) -> None:
        if not regex.fullmatch(value):
            raise ValidationError(INVALID_VALUE.format(label=field.label.lower()), code="invalid")

    return validate


def form_field(field: FormField) -> forms.Field:
    """The Django field of a declared one. Secret values are never rendered back."""
    if field.choices:
        return forms.ChoiceField(label=field.label, help_text=field.help_text,
                                 choices=field.choices, required=field.required)
    if field.secret:
        widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    elif field.multiline:
        widget = forms.Textarea(attrs={"rows": 4})
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    return forms.CharField(
        label=field.label, help_text=field.help_text, max_length=field.max_length,
        required=field.required, strip=not field.multiline,
        validators=[_pattern_validator(field)] if field.pattern else [], widget=widget,
    )


class DeclaredFieldsForm(forms.Form):
    def __init__(self, *args, fields: Iterable[FormField], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in fields:
            self.fields[field.name] = form_field(field)


class ConnectForm(DeclaredFieldsForm):
    """The provider's connect fields."""

    def __init__(self, *args, provider: Provider, **kwargs) -> None:
        super().__init__(*args, fields=provider.connect_fields(), **kwargs)
        self.provider = provider


class ActionForm(DeclaredFieldsForm):
    """The page form of one action: its declared fields and a hidden idempotency key, made
    fresh at each render so one rendered form is one write however often it is sent.

    Only renders: the input is checked by ``connection_action_perform``, the one place every
    interface goes through. Prefixed with the action's name, so several fit on one page.
    """

    def __init__(self, *args, action: Action, **kwargs) -> None:
        super().__init__(*args, fields=action.fields, prefix=action.name, **kwargs)
        self.action = action
        self.fields["idempotency_key"] = forms.CharField(
            widget=forms.HiddenInput, initial=uuid.uuid4().hex)

    @classmethod
    def submitted(cls, action: Action, post: Mapping[str, str]) -> tuple[dict[str, str], str]:
        """The raw values of ``action``'s fields in a POST, and its idempotency key."""
        form = cls(action=action)
        data = {f.name: post.get(form.add_prefix(f.name), "") for f in action.fields}
        return data, post.get(form.add_prefix("idempotency_key"), "")


class ConnectionSettingsForm(forms.Form):
    """The connection page's sync settings: whether, when, and which streams. An unticked box
    is off (browsers send nothing for it)."""

    sync_enabled = forms.BooleanField(
        label="Sync enabled", required=False,
        help_text="Off: nothing is synced, not even when you ask for it.")
    auto_sync = forms.BooleanField(
        label="Sync automatically", required=False,
        help_text="Off: it syncs only when you ask for it.")

    def __init__(self, *args, provider: Provider, connection, **kwargs) -> None:
        self.streams = provider.streams
        initial = {"sync_enabled": connection.sync_enabled, "auto_sync": connection.auto_sync}
        super().__init__(*args, initial=initial, **kwargs)
        for stream in self.streams:
            name = self.stream_field(stream.name)
            self.fields[name] = forms.BooleanField(label=stream.label, required=False)
            self.initial[name] = connection.stream_enabled(stream.name)

    @staticmethod
    def stream_field(stream: str) -> str:
        return f"stream_{stream}"

    def when_fields(self) -> list[forms.BoundField]:
        return [self["sync_enabled"], self["auto_sync"]]

    def stream_fields(self) -> list[forms.BoundField]:
        return [self[self.stream_field(stream.name)] for stream in self.streams]

    def settings(self) -> dict:
        """The cleaned form as ``connection_update_settings`` keywords."""
        data = self.cleaned_data
        return {"sync_enabled": data["sync_enabled"], "auto_sync": data["auto_sync"],
                "streams": {s.name: data[self.stream_field(s.name)] for s in self.streams}}


class PersonalAppForm(forms.Form):
    """A person's own OAuth app: integrations/oauth_apps.py checks the values."""

    client_id = forms.CharField(
        label="Client ID", max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    client_secret = forms.CharField(
        label="Client secret", max_length=1000, required=False,
        help_text=("Stored encrypted and never shown again. Leave empty to keep the saved one "
                   "(not when you change the client ID)."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
