"""Per-purpose consent. ``consent.allows(user, purpose, provider=None)`` answers every question."""


def allows(user, purpose: str, provider: str | None = None) -> bool:
    # Imported lazily: this package is imported while apps load, before models may be used.
    from .selectors import allows as _allows

    return _allows(user, purpose, provider)
