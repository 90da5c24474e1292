"""Single sign-on with OpenID Connect: the bureau's identity provider vouches for a person.

The authorization code flow with PKCE and a nonce (OpenID Connect Core 1.0 §3.1): :func:`start`
sends the browser to the provider with a fresh ``state``, kept in the system database with the
nonce and the PKCE verifier; :func:`finish` takes the provider's answer, exchanges the code at
the token endpoint (client secret over HTTP Basic), checks the ID token's signature against the
provider's JWKS and its issuer, audience, expiry and nonce, and maps its claims to an account.

The provider is the source of truth for the people it vouches for: their account (source
"oidc", no password) takes the roles and region of the claims at every login. A provider's
claim never takes over a local account of the same name, and a region claim that is not a
known adcode refuses the login instead of granting the whole territory.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, insert, select

from onemap import sysdb
from onemap.access import accounts
from onemap.access.principal import ROLES
from onemap.config import Settings

CALLBACK_PATH = "/api/auth/oidc/callback"
PENDING_MINUTES = 10
#: How long the provider's metadata and keys are trusted before they are read again.
METADATA_TTL = 300.0


class OidcError(PermissionError):
    """The single sign-on did not prove anybody; the message says why (shown to the user)."""


@dataclass(frozen=True)
class Claims:
    """What an ID token says about a person, mapped to our names."""

    user: str
    display: str
    roles: tuple[str, ...]
    region: str | None


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


_META: dict[str, tuple[float, dict[str, Any], KeySet]] = {}
_LOCK = threading.Lock()


def metadata(settings: Settings) -> tuple[dict[str, Any], KeySet]:
    """The provider's discovery document and signing keys (cached for a few minutes)."""
    issuer = settings.oidc_issuer
    with _LOCK:
        hit = _META.get(issuer)
    if hit and time.monotonic() - hit[0] < METADATA_TTL:
        return hit[1], hit[2]
    verify = _verify(settings)
    try:
        meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10,
                            verify=verify).json()
        if meta.get("issuer", "").rstrip("/") != issuer:
            raise OidcError(f"the provider calls itself {meta.get('issuer')!r}, not {issuer!r}")
        keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10,
                                                  verify=verify).json())
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise OidcError(f"the identity provider {issuer} cannot be read: {exc}") from None
    with _LOCK:
        _META[issuer] = (time.monotonic(), meta, keys)
    return meta, keys


def _verify(settings: Settings) -> str | bool:
    return settings.oidc_ca_file or True


def _client(settings: Settings) -> OAuth2Session:
    session = OAuth2Session(settings.oidc_client_id, settings.oidc_client_secret,
                            scope=settings.oidc_scopes, code_challenge_method="S256",
                            redirect_uri=settings.public_url + CALLBACK_PATH,
                            token_endpoint_auth_method="client_secret_basic")
    session.verify = _verify(settings)
    return session


def safe_next(next_url: str | None) -> str:
    """Where to go after the login: a path of this site only (never another host)."""
    if not next_url:
        return "/"
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not next_url.startswith("/") or next_url.startswith("//"):
        return "/"
    return next_url


def start(settings: Settings, next_url: str | None = None) -> str:
    """The provider's authorization URL for a new login (the browser is redirected there)."""
    if not enabled(settings):
        raise OidcError("single sign-on is not configured (ONEMAP_OIDC_ISSUER)")
    meta, _ = metadata(settings)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)
    url, _ = _client(settings).create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
    t = sysdb.OIDC_PENDING
    cutoff = (datetime.now(UTC) - timedelta(minutes=PENDING_MINUTES)).isoformat()
    with sysdb.engine(settings).begin() as conn:
        conn.execute(delete(t).where(t.c.created < cutoff))
        conn.execute(insert(t).values(state=state, nonce=nonce, verifier=verifier,
                                      next=safe_next(next_url), created=sysdb.now()))
    return url


def _pending(settings: Settings, state: str) -> dict[str, Any]:
    """The login ``state`` names, taken (a state is good once), unless it is too old."""
    t = sysdb.OIDC_PENDING
    with sysdb.engine(settings).begin() as conn:
        row = conn.execute(select(t).where(t.c.state == state)).mappings().first()
        if row is not None:
            conn.execute(delete(t).where(t.c.state == state))
    if row is None:
        raise OidcError("unknown or used login state: start the login again")
    age = datetime.now(UTC) - datetime.fromisoformat(row["created"])
    if age > timedelta(minutes=PENDING_MINUTES):
        raise OidcError("the login took too long: start it again")
    return dict(row)


def finish(settings: Settings, params: dict[str, str]) -> tuple[accounts.User, str]:
    """The account the provider's answer (the callback's query ``params``) proves, and where
    to send the browser; OidcError when it proves nobody."""
    if "error" in params:
        raise OidcError(f"the identity provider refused: {params.get('error')} "
                        f"{params.get('error_description', '')}".strip())
    if not params.get("code") or not params.get("state"):
        raise OidcError("the identity provider's answer has no code or state")
    pending = _pending(settings, params["state"])
    meta, keys = metadata(settings)
    try:
        token = _client(settings).fetch_token(meta["token_endpoint"], code=params["code"],
                                              code_verifier=pending["verifier"],
                                              verify=_verify(settings), timeout=10)
    except Exception as exc:  # authlib raises its OAuthError or requests' errors
        raise OidcError(f"the code exchange failed: {exc}") from None
    if "id_token" not in token:
        raise OidcError("the identity provider sent no ID token")
    claims = _validate(settings, token["id_token"], keys, meta["issuer"], pending["nonce"])
    return _account(settings, map_claims(settings, claims)), pending["next"]


def _validate(settings: Settings, id_token: str, keys: KeySet, issuer: str,
              nonce: str) -> dict[str, Any]:
    try:
        decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            exp={"essential": True}, sub={"essential": True},
            nonce={"essential": True, "value": nonce}, leeway=60,
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"the ID token does not hold: {exc}") from None
    return dict(decoded.claims)


def _role_map(settings: Settings) -> dict[str, str]:
    out = {}
    for pair in settings.oidc_role_map.split(","):
        theirs, sep, ours = pair.partition("=")
        if sep and ours.strip() in ROLES:
            out[theirs.strip()] = ours.strip()
    return out


def map_claims(settings: Settings, claims: dict[str, Any]) -> Claims:
    """Our user name, roles and region from the provider's claims (see the module doc)."""
    name = str(claims.get(settings.oidc_user_claim) or "").strip().lower()
    if not accounts.USER_NAME.fullmatch(name):
        raise OidcError(f"the {settings.oidc_user_claim!r} claim {name!r} is not a user name "
                        "OneMap can use")
    raw = claims.get(settings.oidc_roles_claim) or []
    theirs = raw.replace(",", " ").split() if isinstance(raw, str) else [str(r) for r in raw]
    mapping = _role_map(settings)
    roles = tuple(dict.fromkeys(mapping.get(r, r) for r in theirs if mapping.get(r, r) in ROLES))
    region = claims.get(settings.oidc_region_claim)
    if region not in (None, ""):
        try:
            region = accounts.check_region(str(region), settings)
        except accounts.AccountError as exc:
            raise OidcError(f"the {settings.oidc_region_claim!r} claim: {exc}") from None
    return Claims(name, str(claims.get("name") or name), roles, region or None)


def _account(settings: Settings, c: Claims) -> accounts.User:
    """The single sign-on account for ``c``, made or brought in step with the claims."""
    user = accounts.get(settings, c.user)
    if user is None:
        return accounts.add(settings, c.user, roles=c.roles, region=c.region,
                            display=c.display, source="oidc")
    if user.source != "oidc":
        raise OidcError(f"a local account named {c.user!r} exists: single sign-on does not "
                        "take it over (an admin can rename or remove it)")
    if user.disabled:
        raise OidcError(f"the account {c.user!r} is disabled here")
    return accounts.change(settings, c.user, roles=list(c.roles), region=c.region,
                           display=c.display)
