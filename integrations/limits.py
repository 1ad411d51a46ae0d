"""How much one imported item may store: pure functions the engine applies before every write.

A stream declares its limits (``Stream.max_string_length``, ``max_list_length``,
``max_title_length``, ``max_attrs_bytes``; base.py has the defaults). ``limit_item`` cuts every
string and list (and object) of the item's attrs to them, at any depth, drops what nests deeper
than MAX_DEPTH, removes what no database can store (NUL characters, lone surrogates, NaN), and
cuts the title.

The decision for what is still too large: when the attrs of one record are still over
``max_attrs_bytes`` of JSON after cutting (thousands of small keys, say), that record is
*skipped*: ``limit_item`` returns None, the engine counts it (``skipped`` in the stream's
counters) and keeps whatever it stored for that record before. Failing the whole stream instead
would let one odd record stop a person's sync for good; storing it would let a provider fill the
database.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .providers.base import MappedItem, Stream

MAX_DEPTH = 8
MAX_EXTERNAL_ID_LENGTH = 255  # ExternalItem.external_id


@dataclass(frozen=True)
class ItemLimits:
    max_string_length: int = 1000
    max_list_length: int = 100
    max_title_length: int = 500
    max_attrs_bytes: int = 16 * 1024

    @classmethod
    def of(cls, stream: Stream) -> ItemLimits:
        # The title column holds 500 characters, whatever a stream declares.
        return cls(stream.max_string_length, stream.max_list_length,
                   min(stream.max_title_length, 500), stream.max_attrs_bytes)


def clean_text(value: str, max_length: int) -> str:
    """``value`` cut to ``max_length``, without NUL characters or lone surrogates (neither
    PostgreSQL nor UTF-8 can hold them)."""
    value = value[:max_length]
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def limit_value(value: Any, limits: ItemLimits, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` within ``limits``."""
    if isinstance(value, str):
        return clean_text(value, limits.max_string_length)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {
            clean_text(str(key), limits.max_string_length): limit_value(item, limits, depth + 1)
            for key, item in list(value.items())[:limits.max_list_length]
        }
    if isinstance(value, list | tuple):
        return [limit_value(item, limits, depth + 1) for item in value[:limits.max_list_length]]
    return clean_text(str(value), limits.max_string_length)


def attrs_size(attrs: dict) -> int:
    """Bytes of ``attrs`` as stored JSON (compact, UTF-8)."""
    return len(json.dumps(attrs, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def limit_item(item: MappedItem, limits: ItemLimits) -> MappedItem | None:
    """``item`` within ``limits``, or None when it cannot be stored (see the module docstring)."""
    from .providers.base import MappedItem

    external_id = str(item.external_id)
    if (len(external_id) > MAX_EXTERNAL_ID_LENGTH
            or clean_text(external_id, MAX_EXTERNAL_ID_LENGTH) != external_id):
        return None  # an id cut or changed would name another record
    attrs = limit_value(item.attrs if isinstance(item.attrs, dict) else {}, limits)
    if attrs_size(attrs) > limits.max_attrs_bytes:
        return None
    return MappedItem(external_id, clean_text(str(item.title), limits.max_title_length), attrs)
