"""Keep the scopes the provider actually granted, which allauth's parse_token drops."""


class GrantedScopeMixin:
    """Mix into an ``OAuth2Adapter`` (before it) to set ``token.granted_scopes``.

    ``granted_scopes`` is a sorted list, or None when the token response has no ``scope``: the
    caller must then fall back to the scopes it asked for.
    """

    def parse_token(self, data):
        token = super().parse_token(data)
        raw = data.get("scope")
        if isinstance(raw, str):  # space separated (RFC 6749); GitHub separates with commas
            token.granted_scopes = sorted({s for s in raw.replace(",", " ").split() if s})
        elif isinstance(raw, list):
            token.granted_scopes = sorted({s for s in raw if isinstance(s, str) and s})
        else:
            token.granted_scopes = None
        return token
