"""Request bodies: JSON only, and a hostile one is a 400, never a server error."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser lets RecursionError through: 100,000 nested brackets (200 KB, under
    the body size limit) would answer 500. Too deep is as malformed as any bad JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
