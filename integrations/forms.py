"""Forms built from declared fields: the connect form of credential-based providers, and the
form of each provider action."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError

from .providers.base import Action, FormField, Provider

INVALID_VALUE = "Enter a valid {label}."


def _widget(field: FormField) -> forms.Widget:
    if field.secret:
        return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    if field.multiline:
        return forms.Textarea(attrs={"rows": 4})
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})


def _pattern_validator(field: FormField):
    regex = re.compile(field.pattern)

    def validate(value: str) -> None:
        if not regex.fullmatch(value):
            raise ValidationError(INVALID_VALUE.format(label=field.label.lower()), code="invalid")

    return validate


class ConnectForm(forms.Form):
    """One CharField per ``provider.form_fields``. Secret fields are never rendered back."""

    def __init__(self, *args, provider: Provider, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        for field in provider.form_fields:
            self.fields[field.name] = forms.CharField(
                label=field.label,
                help_text=field.help_text,
                max_length=field.max_length,
                required=field.required,
                validators=[_pattern_validator(field)] if field.pattern else [],
                widget=_widget(field),
            )


class ActionForm(forms.Form):
    """The page form of one action: its declared fields and a hidden idempotency key, made
    fresh at each render so one rendered form is one write however often it is sent.

    Only renders: the input is checked by ``connection_action_perform``, the one place every
    interface goes through. Prefixed with the action's name, so several fit on one page.
    """

    def __init__(self, *args, action: Action, **kwargs) -> None:
        super().__init__(*args, prefix=action.name, **kwargs)
        self.action = action
        for field in action.fields:
            self.fields[field.name] = forms.CharField(
                label=field.label, help_text=field.help_text, max_length=field.max_length,
                required=field.required, strip=not field.multiline, widget=_widget(field),
            )
        self.fields["idempotency_key"] = forms.CharField(
            widget=forms.HiddenInput, initial=uuid.uuid4().hex)

    @classmethod
    def submitted(cls, action: Action, post: Mapping[str, str]) -> tuple[dict[str, str], str]:
        """The raw values of ``action``'s fields in a POST, and its idempotency key."""
        form = cls(action=action)
        data = {f.name: post.get(form.add_prefix(f.name), "") for f in action.fields}
        return data, post.get(form.add_prefix("idempotency_key"), "")
