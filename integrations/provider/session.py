"""One ``requests`` session per instance: authenticated as its element says, guarded against
private addresses, and saying who is asking (``USER_AGENT``)."""

from __future__ import annotations

from importlib import metadata

import requests

from integrations.models import Instance
from integrations.provider import auth
from integrations.provider.errors import ProviderError
from integrations.provider.urlguard import guarded_session


def _version() -> str:
    try:
        return metadata.version("tributary")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"Tributary/{_version()}"


def build_session(instance: Instance) -> requests.Session:
    """A session for one instance, authenticated as the element says."""
    scheme = auth.usable_scheme(instance)
    if scheme is None:
        needs = "; ".join(
            f"{offered['type']} needs {', '.join(auth.missing_credentials(instance, offered))}"
            for offered in auth.schemes(instance)
        )
        raise ProviderError(
            f"{instance.element.name} instance {instance} has no usable credentials: {needs}.",
            permanent=True,
        )
    session = guarded_session()
    session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    session.auth = auth.request_auth(instance, scheme)
    return session
