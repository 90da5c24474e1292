"""``/api/admin``: users, their API keys and grants, and the stored access rules — admins only.

The same operations as the ``onemap users|keys|grant|rules`` commands, through the same
functions of onemap.access, for the app's admin page and for scripts with an admin's key. Every
route asks the one policy point (``policy.require(…, "admin")``): anonymous callers get 401,
other users 403. Nothing here ever returns a password or a stored key digest; a new key is
shown once, in the answer that creates it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from onemap.access import accounts, policy, rules, sessions
from onemap.access.principal import ROLES, Principal
from onemap.config import Settings
from onemap.mapserver.auth import principal_of
from onemap.mapserver.auth_api import KeyRequest, key_doc, refused
from onemap.mapserver.errors import error_responses

ROLE_NAMES = list(ROLES)


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    roles: list[str] = Field(default_factory=lambda: ["viewer"], max_length=len(ROLES))
    region: str | None = Field(default=None, max_length=6)
    #: None: an account for API keys only (or a password set later).
    password: str | None = Field(default=None, max_length=1024)
    display: str = Field(default="", max_length=200)


class UserChange(BaseModel):
    """Only the fields sent change; ``region: null`` unbinds the user from a region."""

    roles: list[str] | None = Field(default=None, max_length=len(ROLES))
    region: str | None = Field(default=None, max_length=6)
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)
    display: str | None = Field(default=None, max_length=200)


class Grant(BaseModel):
    """A user's roles and region, set together (``region: null``: the whole territory)."""

    roles: list[str] = Field(max_length=len(ROLES))
    region: str | None = Field(default=None, max_length=6)


class NewRule(BaseModel):
    role: str = Field(max_length=32, description="'*', 'anonymous' or a role name")
    dataset: str = Field(max_length=128, description="a dataset id or a glob (pollution_*)")
    allow: bool
    priority: int = Field(default=100, ge=0, le=1_000_000)


def user_doc(user: accounts.User, settings: Settings) -> dict[str, Any]:
    return {"name": user.name, "display": user.display, "roles": list(user.roles),
            "region": user.region, "disabled": user.disabled,
            "has_password": user.has_password, "locked_until": user.locked_until,
            "created": user.created,
            "sessions": len(sessions.sessions(settings, user.name))}


def rule_doc(rule: rules.Rule) -> dict[str, Any]:
    return {"id": rule.id, "priority": rule.priority, "role": rule.role,
            "dataset": rule.dataset, "allow": rule.allow, "created": rule.created,
            "created_by": rule.created_by}


def admin_router(settings: Settings) -> APIRouter:
    def admin(request: Request) -> Principal:
        principal = principal_of(request)
        policy.require(principal, "admin", settings)
        return principal

    # also a dependency of every route: decided before the body is read, so an anonymous or
    # non-admin caller learns 401/403, never what the body lacked
    router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(admin)],
                       responses=error_responses(401, 403, 409, 422))

    def user_or_404(name: str) -> accounts.User:
        user = accounts.get(settings, name)
        if user is None:
            raise refused(accounts.NoSuchAccount(f"no user {name!r}"))
        return user

    @router.get("/users", summary="Every account")
    def list_users(request: Request) -> dict[str, Any]:
        admin(request)
        return {"users": [user_doc(u, settings) for u in accounts.users(settings)],
                "roles": ROLE_NAMES}

    @router.post("/users", status_code=201, summary="Add an account")
    def add_user(request: Request, body: NewUser) -> dict[str, Any]:
        admin(request)
        # the record names the account (its path does not), as `onemap users add` does
        request.state.audit = {"target": body.name}
        try:
            user = accounts.add(settings, body.name, roles=body.roles, region=body.region,
                                password=body.password, display=body.display)
        except accounts.AccountError as exc:
            raise refused(exc) from None
        return user_doc(user, settings)

    @router.get("/users/{name}", summary="One account")
    def get_user(request: Request, name: str) -> dict[str, Any]:
        admin(request)
        return user_doc(user_or_404(name), settings)

    @router.patch("/users/{name}", summary="Change an account (disable: {\"disabled\": true})")
    def change_user(request: Request, name: str, body: UserChange) -> dict[str, Any]:
        principal = admin(request)
        user_or_404(name)
        sent = body.model_fields_set
        if body.disabled and name == principal.user:
            raise refused(accounts.AccountError("an admin may not disable their own account"))
        try:
            user = accounts.change(
                settings, name, roles=body.roles, disabled=body.disabled,
                password=body.password, display=body.display,
                region=body.region if "region" in sent else False)
        except accounts.AccountError as exc:
            raise refused(exc) from None
        return user_doc(user, settings)

    @router.put("/users/{name}/grant", summary="Set an account's roles and region")
    def grant(request: Request, name: str, body: Grant) -> dict[str, Any]:
        admin(request)
        user_or_404(name)
        try:
            user = accounts.change(settings, name, roles=body.roles, region=body.region)
        except accounts.AccountError as exc:
            raise refused(exc) from None
        return user_doc(user, settings)

    @router.get("/keys", summary="API keys (of one user with ?user=)")
    def list_keys(request: Request, user: str | None = None) -> dict[str, Any]:
        admin(request)
        return {"keys": [key_doc(k) for k in accounts.keys(settings, user)]}

    @router.post("/users/{name}/keys", status_code=201,
                 summary="A new API key for an account, shown once")
    def create_key(request: Request, name: str, body: KeyRequest) -> dict[str, Any]:
        admin(request)
        try:
            key, secret = accounts.create_key(settings, name, body.name)
        except accounts.AccountError as exc:
            raise refused(exc) from None
        return {**key_doc(key), "key": secret}

    @router.delete("/keys/{key_id}", summary="Revoke any API key")
    def revoke_key(request: Request, key_id: str) -> dict[str, Any]:
        admin(request)
        try:
            return key_doc(accounts.revoke_key(settings, key_id))
        except accounts.AccountError as exc:
            raise refused(exc) from None

    @router.get("/rules", summary="The stored read rules, in the order they are tried")
    def list_rules(request: Request) -> dict[str, Any]:
        admin(request)
        return {"rules": [rule_doc(r) for r in rules.load(settings, fresh=True)]}

    @router.post("/rules", status_code=201, summary="Add a read rule")
    def add_rule(request: Request, body: NewRule) -> dict[str, Any]:
        principal = admin(request)
        try:
            rule = rules.add(settings, role=body.role, dataset=body.dataset,
                             allow=body.allow, priority=body.priority, by=principal.user)
        except ValueError as exc:
            raise refused(exc) from None
        return rule_doc(rule)

    @router.delete("/rules/{rule_id}", summary="Remove a read rule")
    def remove_rule(request: Request, rule_id: int = Path(ge=1, le=2**62)) -> dict[str, Any]:
        admin(request)
        try:
            return rule_doc(rules.remove(settings, rule_id))
        except KeyError as exc:
            raise refused(exc) from None

    return router
