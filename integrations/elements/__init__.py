"""Element definitions, the data that says how to talk to each provider: the JSON shipped
here (``<key>.json``) and its loading (``loading.py``), its validation (``validation/``)
and inbound webhooks as a definition describes them (``inbound.py``)."""

from __future__ import annotations

from integrations.elements.inbound import (
    DEFAULT_BATCH_SIZE,
    NormalizationError,
    VerificationError,
    header,
    normalize,
    verify,
)
from integrations.elements.loading import (
    ELEMENTS_DIR,
    InvalidDefinition,
    element_upsert,
    elements_load,
    read_element_file,
)
from integrations.elements.validation import validate_definition

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ELEMENTS_DIR",
    "InvalidDefinition",
    "NormalizationError",
    "VerificationError",
    "element_upsert",
    "elements_load",
    "header",
    "normalize",
    "read_element_file",
    "validate_definition",
    "verify",
]
