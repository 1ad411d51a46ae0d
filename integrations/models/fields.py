"""Encrypted fields that survive a key they cannot read.

fernet_fields decrypts on load and raises ``InvalidToken`` when no configured key fits (a key
rotated away too early, a database restored under another deployment's keys). Raised from
``from_db_value`` that is a 500 on every page that loads the row, so an unreadable secret is
loaded as ``Undecryptable`` instead: a state the code can see and act on (ask the person to
reconnect), never a crash.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from fernet_fields import EncryptedTextField as _FernetTextField


class Undecryptable(str):
    """A stored secret that no configured key decrypts.

    It is the empty string, so it is falsy, prints as nothing and cannot leak. It keeps the
    ciphertext, and saving the row writes that ciphertext back unchanged: restoring the old key
    recovers the secret, and saving other fields of the row never destroys it.
    """

    def __new__(cls, ciphertext: bytes = b"") -> Undecryptable:
        value = super().__new__(cls, "")
        value.ciphertext = bytes(ciphertext)
        return value

    def __getnewargs__(self) -> tuple[bytes]:
        return (self.ciphertext,)

    def __repr__(self) -> str:
        return "<undecryptable secret>"


class EncryptedTextField(_FernetTextField):
    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            return Undecryptable(value)

    def get_db_prep_save(self, value, connection):
        if isinstance(value, Undecryptable):
            return connection.Database.Binary(value.ciphertext)
        return super().get_db_prep_save(value, connection)

    def deconstruct(self):
        # Same column, same ciphertext as fernet_fields' field: migrations keep naming that one,
        # so swapping in this subclass needs no migration.
        name, _path, args, kwargs = super().deconstruct()
        return name, "fernet_fields.fields.EncryptedTextField", args, kwargs
