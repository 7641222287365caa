"""What the Apps API reads as a request body: JSON, within limits.

DRF's own JSON parser recurses once per level of nesting, so a body of ``[`` repeated
100,000 times was a RecursionError (a 500) for anyone who could post. This one measures the
nesting before parsing and refuses a body nested deeper than any instance or element JSON
with a 400 in the API's error shape.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

from core.json import DEFAULT_MAX_DEPTH, JSONTooDeep, JSONTooLarge, loads_bounded

# The admin's JSON fields (integrations/forms.py) keep to the same default.
MAX_DEPTH = DEFAULT_MAX_DEPTH


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser parsing with ``core.json.loads_bounded``. A subclass, so that DRF still
    reads the body through ``request.body`` and its size limit (413)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            # Over the size limit only once decoded (a body in UTF-16 or Latin-1).
            return loads_bounded(
                text, max_depth=MAX_DEPTH, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            )
        except JSONTooDeep as exc:
            raise ParseError(
                f"The request body is refused: {exc}; send a flatter document."
            ) from None
        except JSONTooLarge as exc:
            raise ParseError(f"The request body is refused: {exc} once decoded.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
