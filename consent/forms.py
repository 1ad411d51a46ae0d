"""The small form behind every consent toggle."""

from django import forms

from integrations.providers.registry import PROVIDERS

from .models import ALL_PROVIDERS
from .purposes import PURPOSES

ON, OFF = "on", "off"


class ConsentSetForm(forms.Form):
    """One answer: ``purpose`` on or off, for one provider or for all of them ("")."""

    purpose = forms.ChoiceField(choices=[(p.slug, p.name) for p in PURPOSES.values()])
    provider = forms.ChoiceField(
        required=False,
        choices=[(ALL_PROVIDERS, "All services")] + [(p.slug, p.name) for p in PROVIDERS.values()],
    )
    granted = forms.TypedChoiceField(choices=[(ON, "On"), (OFF, "Off")],
                                     coerce=lambda value: value == ON)
