"""OGC API Features Part 4 in :class:`~onemap.mapserver.provider.OneMapProvider`: create,
replace, update (merge patch) and delete of single features, for editable layers only.

pygeoapi's provider interface (``create(item)``, ``update(identifier, item)``,
``delete(identifier)``) plus ``patch``; the HTTP side is :mod:`onemap.mapserver.ogc_edits`.
Each method asks the policy first, with the request's principal
(:func:`onemap.access.context.current`): the ``edit_features`` action (a commander or a data
manager; 401 anonymous, 403 otherwise), then — for a region-bound principal — the feature's
place (:func:`onemap.access.policy.require_place`: 403 outside the region). A feature the
principal cannot see is read through :meth:`OneMapProvider.get`, which applies the same access
limits as every read, so it is 404 as an unknown id. Then the feature is checked and written by
:mod:`onemap.layers.edits`, and the catalogue entry follows (count, extent, times).

Refusals are :class:`Refused` — pygeoapi's provider error with the right status — so pygeoapi's
own transaction route would answer them as well as ours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from pygeoapi.provider.base import ProviderGenericError, ProviderItemNotFoundError
from shapely.geometry import shape

from onemap import catalog
from onemap.access import context, policy, regions, scope
from onemap.layers import edits
from onemap.store import pg_load, served_from_postgis

#: Stands in for the key of a feature created without one until the write makes it.
NEW_KEY = "(new)"


class Refused(ProviderGenericError):
    """An edit refused, with its HTTP status and OGC exception code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(user_msg=detail)
        self.http_status_code, self.ogc_exception_code = status, code


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """The policy's and the layer's refusals as :class:`Refused`."""
    try:
        yield
    except edits.EditError as exc:
        raise Refused(exc.status, exc.code, exc.detail) from None
    except policy.Unauthenticated as exc:
        raise Refused(401, "Unauthenticated", str(exc)) from None
    except policy.Forbidden as exc:
        raise Refused(403, "Forbidden", str(exc)) from None
    except (policy.Hidden, catalog.UnknownDataset):
        raise Refused(404, "NotFound", "Collection not found") from None
    except ProviderItemNotFoundError:
        raise Refused(404, "NotFound", "identifier not found") from None


class FeatureEdits:
    """The write half of :class:`~onemap.mapserver.provider.OneMapProvider` (a mixin: it uses
    the provider's ``table``, ``info``, ``settings``, ``id_field`` and ``get``)."""

    table: str
    info: Any
    settings: Any
    id_field: str

    def _layer(self) -> edits.Layer:
        """The layer to edit: the principal's role first (401, 403), then 405 when the
        layer is not editable."""
        entry = scope.entries(self.settings).get(self.table)
        if entry is None:
            raise catalog.UnknownDataset(self.table)
        policy.require(context.current(), "edit_features", self.settings, entry)
        if not getattr(self, "editable", False):  # as configured (a view is never edited)
            entry = entry.model_copy(update={"editable": False})
        return edits.layer(entry, self.settings, self.info.fid_column,
                           self.info.geometry_name or "geom")

    def _territory(self) -> tuple[float, float, float, float] | None:
        """Where features may lie: the box of the admin boundaries this server covers."""
        boundaries = scope.entries(self.settings).get(regions.REGION_LAYER)
        box = boundaries.bbox if boundaries is not None else None
        return (box[0], box[1], box[2], box[3]) if box else None

    def _checked(self, layer: edits.Layer, feature: dict[str, Any], placeholder: str | None
                 ) -> tuple[dict[str, Any], Any]:
        values, geom = edits.prepare(feature, layer, edits.table_columns(layer),
                                     self._territory(), placeholder)
        policy.require_place(context.current(), geom, self.settings)
        return values, geom

    def _edit(self, layer: edits.Layer, change: Callable[[], str]) -> str:
        """Run ``change`` (one write; it returns the feature's key), then the catalogue entry
        follows; with PostGIS, under the layer's write lock, so the versions before and after
        are this write's own, and then the table follows (:func:`pg_load.mirror_feature`)."""
        entry, settings = layer.entry, self.settings
        if not served_from_postgis(entry, settings):
            key = change()
            edits.refresh(entry, settings, layer.geometry_column)
            return key
        with pg_load.write_lock(entry.id, settings):
            before = pg_load.stamp(catalog.get(entry.id, settings), settings)
            key = change()
            edits.refresh(entry, settings, layer.geometry_column)
            after = pg_load.stamp(catalog.get(entry.id, settings), settings)
        pg_load.mirror_feature(entry, before, after, layer.family.key, key, settings)
        return key

    def create(self, item: Any) -> str:
        """Add a feature (GeoJSON); its key, made when the feature has none."""
        with refusals():
            layer = self._layer()
            feature = edits.parse(item)
            placeholder = NEW_KEY if layer.family.key_prefix else None
            values, geom = self._checked(layer, feature, placeholder)
            fresh = values.get(layer.family.key) == NEW_KEY
            key = self._edit(layer, lambda: edits.create(layer, values, geom,
                                                         generate_key=fresh))
        return key

    def update(self, identifier: Any, item: Any) -> bool:
        """Replace feature ``identifier`` (PUT): every property as given, absent ones empty."""
        with refusals():
            layer = self._layer()
            self.get(identifier)  # 404 for an unknown id and for one outside the caller's view
            feature = edits.parse(item)
            props = feature.get("properties")
            if isinstance(props, dict) and props.get(layer.family.key) in (None, ""):
                feature["properties"] = {**props, layer.family.key: str(identifier)}
            values, geom = self._checked(layer, feature, None)
            self._edit(layer, lambda: _replaced(layer, str(identifier), values, geom))
        return True

    def patch(self, identifier: Any, item: Any) -> bool:
        """Change some properties (and/or the geometry) of feature ``identifier`` (PATCH, a
        JSON merge patch of a GeoJSON Feature); the result is checked as a whole."""
        with refusals():
            layer = self._layer()
            current = self.get(identifier)
            feature = edits.merged(current, edits.parse(item))
            values, geom = self._checked(layer, feature, None)
            self._edit(layer, lambda: _replaced(layer, str(identifier), values, geom))
        return True

    def delete(self, identifier: Any) -> bool:
        """Remove feature ``identifier``."""
        with refusals():
            layer = self._layer()
            current = self.get(identifier)
            if current.get("geometry"):
                policy.require_place(context.current(), shape(current["geometry"]),
                                     self.settings)
            self._edit(layer, lambda: _removed(layer, str(identifier)))
        return True


def _replaced(layer: edits.Layer, key: str, values: dict[str, Any], geom: Any) -> str:
    edits.replace(layer, key, values, geom)
    return key


def _removed(layer: edits.Layer, key: str) -> str:
    edits.remove(layer, key)
    return key
