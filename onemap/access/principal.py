"""Who is asking: a principal (a user, or nobody) with roles, optionally bound to a region.

Roles follow the bureau's duties, not screens. Each role includes what ``viewer`` may do (a
person who runs analyses or imports layers may also read internal layers); ``admin`` includes
every role. A region binds the whole principal: a county officer sees the county's internal
features, runs analyses on them and replaces the county's layers, whatever the role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["viewer", "analyst", "commander", "data_manager", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "commander", "data_manager", "admin")

#: What each role brings besides itself.
IMPLIES: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "analyst": frozenset({"viewer"}),
    "commander": frozenset({"viewer"}),
    "data_manager": frozenset({"viewer"}),
    "admin": frozenset(ROLES),
}

#: How the principal proved who it is (recorded in the audit).
Via = Literal["anonymous", "session", "key", "basic", "oidc", "cli"]


def expand(roles: frozenset[str] | set[str] | list[str]) -> frozenset[str]:
    """``roles`` with every role they imply; unknown names are dropped."""
    out: set[str] = set()
    for role in roles:
        if role in IMPLIES:
            out.add(role)
            out |= IMPLIES[role]
    return frozenset(out)


@dataclass(frozen=True)
class Principal:
    """One caller. ``user`` is the login name ("" for anonymous); ``region`` an adcode of the
    admin boundaries (county or city) or None for the whole territory; ``roles`` already
    expanded (see :func:`expand`)."""

    user: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    region: str | None = None
    via: Via = "anonymous"
    #: Name of the API key used, when ``via`` is "key" or "basic" (the audit names it).
    key: str | None = None

    @property
    def anonymous(self) -> bool:
        return not self.user

    def has(self, role: str) -> bool:
        return role in self.roles


ANONYMOUS = Principal()
#: The command line on the server machine: whoever may run it owns the data dir already.
SYSTEM = Principal(user="system", roles=expand({"admin"}), via="cli")


def make(user: str, roles: frozenset[str] | set[str] | list[str], region: str | None = None,
         via: Via = "session", key: str | None = None) -> Principal:
    return Principal(user=user, roles=expand(roles), region=region or None, via=via, key=key)
