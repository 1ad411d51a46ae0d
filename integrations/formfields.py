"""FormField: one value a connect or action form asks for, declared by a provider or an auth
strategy and turned into a Django form field by integrations/forms.py."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    help_text: str = ""
    # Secret values go to Credential.secret, encrypted, and are never shown again; the others
    # go to Connection.config.
    secret: bool = False
    # False for a value used once and then forgotten (a password exchanged for tokens).
    stored: bool = True
    max_length: int = 200
    pattern: str = ""  # a regular expression the whole value must match
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()  # (value, label): a select instead of a text box
    multiline: bool = False  # a text area (a message)
