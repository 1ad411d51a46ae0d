from django import forms

CONFIRM_WORD = "DELETE"
TYPE_THE_WORD = f"Type {CONFIRM_WORD} to confirm."


class ConfirmDeleteForm(forms.Form):
    """Typing a word, not ticking a box: a deletion with no undo is not done by a stray click."""

    confirm = forms.CharField(label=f"Type {CONFIRM_WORD} to confirm", max_length=20,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != CONFIRM_WORD:
            raise forms.ValidationError(TYPE_THE_WORD)
        return value
