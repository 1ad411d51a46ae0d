"""The connect form of credential-based providers, built from the provider's declared fields."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from .providers.base import FormField, Provider

INVALID_VALUE = "Enter a valid {label}."


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
            widget = (
                forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                if field.secret
                else forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
            )
            self.fields[field.name] = forms.CharField(
                label=field.label,
                help_text=field.help_text,
                max_length=field.max_length,
                validators=[_pattern_validator(field)] if field.pattern else [],
                widget=widget,
            )
