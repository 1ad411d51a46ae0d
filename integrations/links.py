"""The HTTP ``Link`` header (RFC 8288), as GitHub and other REST APIs use it for paging.

``Link: <https://api.example/x?page=2>; rel="next", <https://api.example/x?page=7>; rel="last"``

A URI may hold commas and a quoted parameter may hold commas and semicolons, so the header is
scanned, not split. A part that does not parse is skipped up to the next comma: one malformed
link never hides the others, and whatever comes out still has to pass ``resolve_next``.
"""

from __future__ import annotations

import re

# A Link header larger than this is not a list of page links; the caller refuses it.
MAX_LINK_HEADER = 16 * 1024

_OWS = re.compile(r"[ \t]*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def links(header: str) -> list[tuple[str, set[str]]]:
    """Each link of a ``Link`` header as (URI, relation types lower-cased), in header order.

    Relation types are compared case-insensitively and ``rel="next last"`` names two (RFC 8288
    section 3.3); a second ``rel`` parameter on one link is ignored, as the RFC requires.
    """
    found: list[tuple[str, set[str]]] = []
    pos, end = 0, len(header)
    while pos < end:
        pos = _skip(header, pos, " \t,")
        if pos >= end:
            break
        parsed = _link_value(header, pos)
        if parsed is None:
            comma = header.find(",", pos + 1)
            pos = end if comma < 0 else comma
            continue
        uri, rels, pos = parsed
        found.append((uri, rels))
    return found


def next_link(header: str) -> str | None:
    """The first link whose relation types include ``next``, or None."""
    return next((uri for uri, rels in links(header) if "next" in rels), None)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _link_value(text: str, pos: int) -> tuple[str, set[str], int] | None:
    """One ``<URI> *(; param)`` starting at ``pos``: (URI, rels, position after it), or None
    when it is malformed (no angle brackets, a bad parameter, junk before the next comma)."""
    if text[pos] != "<":
        return None
    close = text.find(">", pos + 1)
    if close < 0 or "<" in text[pos + 1:close]:  # "<" never occurs inside a URI
        return None
    uri, rels = text[pos + 1:close], None
    pos = close + 1
    while True:
        pos = _OWS.match(text, pos).end()
        if pos >= len(text) or text[pos] == ",":
            return uri, rels or set(), pos
        if text[pos] != ";":
            return None
        pos = _OWS.match(text, pos + 1).end()
        name = _TOKEN.match(text, pos)
        if name is None:
            return None
        pos = _OWS.match(text, name.end()).end()
        value = ""
        if pos < len(text) and text[pos] == "=":
            pos = _OWS.match(text, pos + 1).end()
            token = _QUOTED.match(text, pos) or _TOKEN.match(text, pos)
            if token is None:
                return None
            value = re.sub(r"\\(.)", r"\1", token.group(1)) if token.re is _QUOTED \
                else token.group(0)
            pos = token.end()
        if name.group(0).lower() == "rel" and rels is None:
            rels = {r.lower() for r in value.split()}
