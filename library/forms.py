"""The library pages' forms. They only shape input; library/services.py checks the values."""

from django import forms

from library.models import LibraryEntry, MediaTitle
from library.scores import MAX_SCORE
from library.selectors import library_list_connections
from library.terms import MAX_PROGRESS

ANY = [("", "Any")]


class FilterForm(forms.Form):
    """The list's filters (GET). A value that is not offered is ignored, never an error."""

    kind = forms.ChoiceField(label="Kind", required=False,
                             choices=ANY + list(MediaTitle.Kind.choices))
    status = forms.ChoiceField(label="Status", required=False,
                               choices=ANY + list(LibraryEntry.Status.choices))
    service = forms.ChoiceField(label="Service", required=False, choices=ANY)
    conflicts = forms.BooleanField(label="With conflicts", required=False)
    q = forms.CharField(label="Title", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        providers = {c.provider: c.provider_name for c in library_list_connections(user=user)}
        self.fields["service"].choices = ANY + sorted(providers.items(), key=lambda p: p[1])

    def filters(self) -> dict:
        """``library_entries_for`` keywords for the valid filters only."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields
                if name not in self.errors}
        return {"kind": data.get("kind") or None, "status": data.get("status") or None,
                "provider": data.get("service") or None,
                "conflicts": True if data.get("conflicts") else None,
                "search": (data.get("q") or "").strip()}


class EntryForm(forms.Form):
    """An entry's values. Blank progress or score means none."""

    status = forms.ChoiceField(label="Status", choices=LibraryEntry.Status.choices)
    progress = forms.IntegerField(label="Progress", required=False, min_value=0,
                                  max_value=MAX_PROGRESS,
                                  help_text="Episodes watched or chapters read.")
    score = forms.IntegerField(label="Score", required=False, min_value=0, max_value=MAX_SCORE,
                               help_text="0 to 100; leave empty for no score.")

    @classmethod
    def for_entry(cls, entry: LibraryEntry, data=None) -> "EntryForm":
        return cls(data, initial={"status": entry.status, "progress": entry.progress,
                                  "score": entry.score})


class LinkSearchForm(forms.Form):
    find = forms.CharField(label="Find another entry to link with", required=False,
                           max_length=100)
