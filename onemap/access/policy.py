"""The one policy point: may this principal do this, on this dataset, and which features.

Every router, pygeoapi's provider and process manager, titiler's dataset lookup, the exports,
the jobs and the app's server side ask here; nothing else decides who sees what (GeoServer's
``ResourceAccessManager``, GeoFence's rules by role, layer and area).

The defaults, for a bureau that publishes some data (信息公开) and keeps the rest internal:

- a **public** dataset is whole for everyone, anonymous included;
- an **internal** dataset is seen by every role (all imply ``viewer``); a principal bound to a
  region sees only the internal *features* within that region. Internal datasets that have no
  features to filter (tables, rasters, cubes) are hidden from region-bound principals rather
  than shown whole;
- **hidden means absent**: a dataset, process or job the principal may not see is missing from
  every list and answers 404 on direct access — the same answer as an id that does not exist,
  so probing ids tells nothing;
- **writes** need their role: rasters (upload, replace, remove) ``analyst``; vector layers and
  tables, and feeds of rows into tables, ``data_manager`` (a region-bound one only for
  entries owned by its region); single features of editable layers (incidents)
  ``commander`` or ``data_manager``, a region-bound one only inside its region
  (:func:`require_place`); acknowledging and closing alarms ``commander`` (only alarms
  they see);
  processes the role of :data:`PROCESS_ROLES`; users, keys, rules and the audit ``admin``;
- a **job** and its results belong to the principal who started it, and to admins.

Access rules stored by admins (:mod:`onemap.access.rules`) may narrow or widen reading per
role and dataset; they are consulted here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shapely.geometry.base import BaseGeometry

from onemap.access import context, regions
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings

Action = Literal["read", "upload_raster", "remove_raster", "import_layer", "remove_layer",
                 "feed", "edit_features", "handle_alarm", "admin", "audit"]

#: Role needed to run each process. ``None``: whoever may read every dataset the process reads
#: (the published AQI and PM2.5 products are 信息公开 content computed from public data).
PROCESS_ROLES: dict[str, str | None] = {
    "aqi-daily": None,
    "aqi-hourly": None,
    "pm25-surface": None,
    "pm25-surface-series": "analyst",
    "upwind-sources": "analyst",
    "ecology-change": "analyst",
    "incident-assessment": "commander",
}

#: Role needed for each write action (a tuple: any one of them).
ACTION_ROLES: dict[str, str | tuple[str, ...]] = {
    "upload_raster": "analyst",
    "remove_raster": "analyst",
    "import_layer": "data_manager",
    "remove_layer": "data_manager",
    "feed": "data_manager",  # rows appended to a time-series table (onemap.layers.feeds)
    # single features of the editable layers (incidents): the commander who reports them
    # from the field, the data manager who keeps the layer right
    "edit_features": ("commander", "data_manager"),
    #: acknowledging and closing online-monitoring alarms: the officers who act on them
    "handle_alarm": "commander",
    "admin": "admin",
    "audit": "admin",
}


class Hidden(LookupError):
    """The principal may not know this exists: answered like an unknown id (404)."""


class Unauthenticated(PermissionError):
    """Nobody is logged in and the action needs somebody (401, with a challenge)."""


class Forbidden(PermissionError):
    """The principal is known and sees the thing, but may not do this to it (403)."""


@dataclass(frozen=True)
class Limits:
    """What of a visible dataset a principal sees: everything (``region`` None), or the
    features intersecting ``area`` (the region's polygons, EPSG:4326). ``area`` None with a
    region means the region has no known area: no feature is visible."""

    region: str | None = None
    area: BaseGeometry | None = None

    @property
    def whole(self) -> bool:
        return self.region is None

    def sees(self, geometry: BaseGeometry | None) -> bool:
        """Whether a feature with ``geometry`` is within these limits (as the layers' cut:
        intersecting the area)."""
        if self.whole:
            return True
        return (geometry is not None and self.area is not None
                and bool(self.area.intersects(geometry)))


WHOLE = Limits()


def limits(principal: Principal, entry: Entry, settings: Settings) -> Limits | None:
    """What ``principal`` sees of ``entry``; None when it is hidden."""
    decided = _ruled(principal, entry, settings)
    if decided is False:
        return None
    if entry.access == "public" or decided is True and principal.region is None:
        return WHOLE
    if decided is None and not principal.has("viewer"):
        return None
    if principal.region is None:
        return WHOLE
    if entry.kind != "vector":
        return None  # nothing to filter by place: a county officer does not get it whole
    return Limits(principal.region, regions.area(principal.region, settings))


def _ruled(principal: Principal, entry: Entry, settings: Settings) -> bool | None:
    """The stored rules' word on reading ``entry`` (True allow, False deny, None no rule)."""
    from onemap.access import rules  # the rules module reads the system database

    return rules.decide(principal, entry.id, settings)


def visible(principal: Principal, entries: Iterable[Entry], settings: Settings) -> list[Entry]:
    """The entries ``principal`` may see, in their order (for every listing)."""
    return [e for e in entries if limits(principal, e, settings) is not None]


def read(principal: Principal, entry: Entry, settings: Settings) -> Limits:
    """The limits of reading ``entry``; :class:`Hidden` when the principal may not see it.

    Granted access to an internal dataset is noted for the audit (one ``read_internal`` record
    per request, see :func:`onemap.access.context.note_read`)."""
    found = limits(principal, entry, settings)
    if found is None:
        raise Hidden(entry.id)
    if entry.access != "public":
        context.note_read(entry.id)
    return found


def require(principal: Principal, action: Action, settings: Settings,
            entry: Entry | None = None) -> None:
    """Raise unless ``principal`` may do ``action`` (on ``entry``, when the action has one).

    An entry the principal cannot see is :class:`Hidden` whatever the action; then the role
    decides (:class:`Unauthenticated` for anonymous, :class:`Forbidden` otherwise); a
    region-bound data manager may change only entries owned within its region.
    """
    if entry is not None:
        read(principal, entry, settings)
    needed = ACTION_ROLES[action] if action != "read" else ()
    roles = (needed,) if isinstance(needed, str) else needed
    if roles and not any(principal.has(role) for role in roles):
        if principal.anonymous:
            raise Unauthenticated(f"{action.replace('_', ' ')} needs a login")
        raise Forbidden(f"{action.replace('_', ' ')} needs the {' or '.join(roles)} role")
    if (entry is not None and principal.region is not None
            and action in ("import_layer", "remove_layer", "feed")
            and not (entry.region and regions.within(entry.region, principal.region))):
        raise Forbidden(f"{entry.id} is not owned by region {principal.region}")


def require_place(principal: Principal, geometry: BaseGeometry, settings: Settings) -> None:
    """Raise :class:`Forbidden` unless a feature at ``geometry`` (EPSG:4326) may be written by
    ``principal``: anywhere for the whole territory, within its region for a region-bound one
    (a county commander reports incidents in the county, not the neighbour's)."""
    if principal.region is None:
        return
    area = regions.area(principal.region, settings)
    if area is None or not area.covers(geometry):
        raise Forbidden(f"the feature lies outside region {principal.region}, where this "
                        "account may edit")


def may(principal: Principal, action: Action, settings: Settings,
        entry: Entry | None = None) -> bool:
    try:
        require(principal, action, settings, entry)
    except (Hidden, PermissionError):
        return False
    return True


def owns_region(principal: Principal, region: str | None) -> bool:
    """Whether a new entry owned by ``region`` ("" or None: the whole territory) may be made
    by ``principal`` (a region-bound principal only inside its region)."""
    if principal.region is None:
        return True
    return bool(region) and regions.within(str(region), principal.region)


def process_visible(principal: Principal, process_id: str,
                    reads: Iterable[Entry], settings: Settings) -> bool:
    """Whether ``principal`` may see and run process ``process_id``, which reads ``reads``.
    A process with no declared role is still hidden when one of its inputs is."""
    if process_id not in PROCESS_ROLES:
        return False
    role = PROCESS_ROLES[process_id]
    if role is not None and not principal.has(role):
        return False
    return all(limits(principal, e, settings) is not None for e in reads)


def job_visible(principal: Principal, owner: str) -> bool:
    """A job (and its results) is its starter's, and every admin's. An anonymous caller's job
    (a public product) is reachable by its unguessable id, never listed: see
    :func:`job_listed`."""
    return principal.has("admin") or principal.user == owner


def job_listed(principal: Principal, owner: str) -> bool:
    """Whether a job appears in ``principal``'s job list: their own (not for anonymous, who
    are many people under one name) and, for admins, everyone's."""
    return principal.has("admin") or (not principal.anonymous and principal.user == owner)
