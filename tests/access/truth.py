"""What each caller *should* reach, computed from the data alone (never from the server's filters).

A layer's features are read from its GeoPackage with geopandas; a county's features are those
whose geometry intersects the county's polygons in the admin_boundaries GeoPackage (shapely,
also read here). The expectations a route is checked against come from these sets, so a
wrong filter in the server cannot make its own test pass.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import requests
import shapely

from tests.conftest import ARTIFACTS, Caller

#: The matrix's callers (issue 12): nobody, a viewer of county A, one of county B, an analyst
#: and an admin (both of the whole territory).
MATRIX = ("anonymous", "viewer_a", "viewer_b", "analyst", "admin")


def headers(callers: dict[str, Caller], name: str) -> dict[str, str]:
    return {} if name == "anonymous" else callers[name].headers


def get(base: str, path: str, callers: dict[str, Caller], name: str, **params: Any
        ) -> requests.Response:
    return requests.get(base + path, params=params, headers=headers(callers, name), timeout=120)


@dataclass
class Layer:
    """One vector layer as stored: its features by key, and its access level."""

    id: str
    key: str
    access: str
    frame: gpd.GeoDataFrame

    def ids(self, within: shapely.Geometry | None = None) -> set[str]:
        frame = self.frame
        if within is not None:
            frame = frame[frame.geometry.intersects(within)]
        return set(frame[self.key].astype(str))


def read_layer(data_dir: Path, layer_id: str, key: str, access: str) -> Layer:
    frame = gpd.read_file(data_dir / "store" / f"{layer_id}.gpkg", layer=layer_id)
    return Layer(layer_id, key, access, frame.to_crs(4326))


def county(data_dir: Path, code: str) -> shapely.Geometry:
    """The polygons of county ``code`` from the admin boundaries GeoPackage."""
    bounds = gpd.read_file(data_dir / "store" / "admin_boundaries.gpkg").to_crs(4326)
    shape = bounds[bounds["adcode"].astype(str) == code].geometry.union_all()
    assert not shape.is_empty, code
    return shape


@dataclass
class Ledger:
    """The (caller, route, dataset) triples a matrix test checked; written for the report."""

    name: str
    checked: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, caller: str, route: str, dataset: str) -> None:
        self.checked.add((caller, route, dataset))

    def write(self) -> dict[str, Any]:
        callers = sorted({c for c, _, _ in self.checked})
        routes = sorted({r for _, r, _ in self.checked})
        datasets = sorted({d for _, _, d in self.checked})
        doc = {"callers": callers, "routes": routes, "datasets": datasets,
               "checks": len(self.checked),
               "per_route": dict(Counter(r for _, r, _ in self.checked))}
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{self.name}.json").write_text(json.dumps(doc, indent=1))
        print(f"\n{self.name}: {len(callers)} callers × {len(routes)} routes × "
              f"{len(datasets)} datasets, {len(self.checked)} (caller, route, dataset) checks")
        return doc
