"""Example documents: Cloud Elements' Desk example instance JSON (``desk-instance.json``,
reference section 2b), the one copy that the demo, the tests and the benchmarks start from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devtools.simulator.auth import DEMO_TOKENS, Credentials

DESK_INSTANCE_FILE = Path(__file__).resolve().parent / "desk-instance.json"


def desk_instance_json(
    *, site: str | None = None, simulator: bool = False, **configuration: Any
) -> dict[str, Any]:
    """A fresh copy of the Desk example instance JSON.

    ``site`` replaces ``site.address``; ``simulator`` puts in the bundled simulator's
    credentials (an access token already, so no OAuth exchange runs); each ``configuration``
    keyword sets that configuration key (keys with dots are passed as ``**{"a.b": v}``), and
    ``None`` removes it.
    """
    data = json.loads(DESK_INSTANCE_FILE.read_text())
    settings = data["configuration"]
    if site is not None:
        settings["site.address"] = site
    if simulator:
        credentials = Credentials()
        token, token_secret = next(iter(DEMO_TOKENS.items()))
        settings["oauth.api.key"] = credentials.consumer_key
        settings["oauth.api.secret"] = credentials.consumer_secret
        data["providerData"] = {"oauth_token": token, "secret": token_secret}
    for key, value in configuration.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    return data
