"""HTTP Basic and OAuth 1.0a (HMAC-SHA1) for the API, plus the three-legged token dance."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit, urlunsplit

from oauthlib.oauth1.rfc5849.signature import collect_parameters, verify_hmac_sha1

from .http import Request

# Demo defaults, printed by the management command; the simulator is not a security boundary.
DEMO_TOKENS = {"demo-token": "demo-token-secret"}
DEMO_USERS = {"admin@example.com": "password"}


class Unauthorized(Exception):
    pass


@dataclass
class Credentials:
    consumer_key: str = "demo-key"
    consumer_secret: str = "demo-secret"
    access_tokens: dict[str, str] = field(default_factory=lambda: dict(DEMO_TOKENS))
    basic_users: dict[str, str] = field(default_factory=lambda: dict(DEMO_USERS))
    # Clients sign with their own wall clock, so this is checked against real time, not the
    # simulator's clock (tests move that one to 2016 and back).
    timestamp_window: int = 900
    check_nonce: bool = True


@dataclass
class _RequestToken:
    secret: str
    callback: str
    verifier: str | None = None


class Authenticator:
    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self._nonces: dict[tuple[str, str], int] = {}
        self._request_tokens: dict[str, _RequestToken] = {}
        self._access_tokens = dict(credentials.access_tokens)

    def reset(self) -> None:
        with self._lock:
            self._nonces.clear()
            self._request_tokens.clear()
            self._access_tokens = dict(self.credentials.access_tokens)

    def check_api(self, request: Request) -> str:
        """Who is calling (email or access token); raises Unauthorized."""
        header = request.header("Authorization")
        if header.lower().startswith("basic "):
            return self._basic(header)
        with self._lock:
            tokens = dict(self._access_tokens)
        oauth = self._oauth(request, tokens)
        if "oauth_token" not in oauth:
            raise Unauthorized("no access token")
        return oauth["oauth_token"]

    # Three-legged flow ------------------------------------------------------

    def request_token(self, request: Request) -> str:
        oauth = self._oauth(request, {}, token_allowed=False)
        callback = oauth.get("oauth_callback")
        if not callback:
            raise Unauthorized("oauth_callback missing")
        token, secret = _new_token(), _new_token()
        with self._lock:
            self._request_tokens[token] = _RequestToken(secret, callback)
        return urlencode(
            {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
        )

    def authorize(self, token: str) -> tuple[str, str]:
        """Auto-approves; returns (callback URL with token and verifier, verifier)."""
        with self._lock:
            pending = self._request_tokens.get(token)
            if pending is None:
                raise Unauthorized("unknown request token")
            pending.verifier = _new_token()
        if pending.callback == "oob":
            return "", pending.verifier
        parts = urlsplit(pending.callback)
        extra = urlencode({"oauth_token": token, "oauth_verifier": pending.verifier})
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query)), pending.verifier

    def access_token(self, request: Request) -> str:
        with self._lock:
            pending = {t: p.secret for t, p in self._request_tokens.items()}
        oauth = self._oauth(request, pending)
        token = oauth.get("oauth_token", "")
        with self._lock:
            entry = self._request_tokens.get(token)
            verifier = oauth.get("oauth_verifier", "")
            if (
                entry is None
                or not entry.verifier
                or not hmac.compare_digest(entry.verifier, verifier)
            ):
                raise Unauthorized("bad verifier")
            del self._request_tokens[token]
            access, secret = _new_token(), _new_token()
            self._access_tokens[access] = secret
        return urlencode({"oauth_token": access, "oauth_token_secret": secret})

    # Verification -----------------------------------------------------------

    def _basic(self, header: str) -> str:
        try:
            decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, IndexError) as exc:
            raise Unauthorized("malformed Basic header") from exc
        email, _, password = decoded.partition(":")
        expected = self.credentials.basic_users.get(email)
        if expected is None or not hmac.compare_digest(expected, password):
            raise Unauthorized("bad email or password")
        return email

    def _oauth(
        self, request: Request, token_secrets: dict[str, str], *, token_allowed: bool = True
    ) -> dict[str, str]:
        creds = self.credentials
        form = request.header("Content-Type").startswith("application/x-www-form-urlencoded")
        try:
            params = collect_parameters(
                uri_query=request.query,
                body=request.body.decode() if form and request.body else None,
                headers={"Authorization": request.header("Authorization")},
                exclude_oauth_signature=False,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("malformed OAuth parameters") from exc
        oauth = {k: v for k, v in params if k.startswith("oauth_")}
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise Unauthorized("HMAC-SHA1 signature required")
        if not hmac.compare_digest(oauth.get("oauth_consumer_key", ""), creds.consumer_key):
            raise Unauthorized("unknown consumer key")
        token = oauth.get("oauth_token")
        if token and (not token_allowed or token not in token_secrets):
            raise Unauthorized("unknown token")
        try:
            timestamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError as exc:
            raise Unauthorized("bad oauth_timestamp") from exc
        if abs(time.time() - timestamp) > creds.timestamp_window:
            raise Unauthorized("oauth_timestamp outside the allowed window")
        signed = SimpleNamespace(
            params=[(k, v) for k, v in params if k != "oauth_signature"],
            uri=f"http://{request.host}{request.path}",
            http_method=request.method,
            signature=oauth.get("oauth_signature", ""),
        )
        if not verify_hmac_sha1(signed, creds.consumer_secret, token_secrets.get(token or "", "")):
            raise Unauthorized("bad signature")
        self._check_nonce(oauth.get("oauth_nonce", ""), token or "", timestamp)
        return oauth

    def _check_nonce(self, nonce: str, token: str, timestamp: int) -> None:
        if not self.credentials.check_nonce:
            return
        with self._lock:
            horizon = time.time() - self.credentials.timestamp_window
            if len(self._nonces) > 10_000:
                self._nonces = {k: t for k, t in self._nonces.items() if t >= horizon}
            if (nonce, token) in self._nonces:
                raise Unauthorized("nonce already used")
            self._nonces[(nonce, token)] = timestamp


def _new_token() -> str:
    return secrets.token_urlsafe(24)
