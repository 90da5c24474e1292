"""The sample region's geography: Chaohu (巢湖) basin around Hefei, Anhui.

Everything else in the sample (stations, sources, rasters…) is placed relative to this one
geography, so a station sits on land, a section on a river, a source near a town. All shapes are
built from hand-placed anchor coordinates (roughly where the real features are) plus smooth,
seeded noise, so each run produces the same bytes while shorelines and borders still look drawn
rather than geometric.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, Polygon, shape

SEED = 20250701
#: Region envelope (lon/lat); every generated feature lies inside the outline within it.
BBOX = (116.72, 30.92, 118.18, 32.18)
KM_PER_DEG_LAT = 111.2


def rng(component: str) -> np.random.Generator:
    """A generator per component: changing one layer's draws never shifts another layer's."""
    return np.random.default_rng([SEED, zlib.crc32(component.encode())])


def km_per_deg_lon(lat: float) -> float:
    return KM_PER_DEG_LAT * math.cos(math.radians(lat))


class SineField:
    """Smooth 2-D noise (a sum of random plane waves), evaluable at any lon/lat.

    Plane waves need no grid and no scipy, and the same field can shape a vector shoreline and
    a raster pixel consistently.
    """

    def __init__(self, gen: np.random.Generator, waves: int = 12, wavelength_km=(8.0, 60.0)):
        lengths = gen.uniform(*wavelength_km, waves)
        angles = gen.uniform(0, 2 * np.pi, waves)
        self.kx = 2 * np.pi / lengths * np.cos(angles) * km_per_deg_lon(31.5)
        self.ky = 2 * np.pi / lengths * np.sin(angles) * KM_PER_DEG_LAT
        self.phase = gen.uniform(0, 2 * np.pi, waves)
        self.amp = 1 / np.sqrt(waves / 2)

    def __call__(self, lon, lat):
        lon = np.asarray(lon, dtype="float64")[..., None]
        lat = np.asarray(lat, dtype="float64")[..., None]
        return self.amp * np.sin(self.kx * lon + self.ky * lat + self.phase).sum(axis=-1)


def ellipse(lon: float, lat: float, rx_km: float, ry_km: float | None = None,
            n: int = 48) -> Polygon:
    """A circle/ellipse with radii in km (corrected for longitude shrinking with latitude)."""
    ry_km = rx_km if ry_km is None else ry_km
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xs = lon + rx_km * np.cos(t) / km_per_deg_lon(lat)
    ys = lat + ry_km * np.sin(t) / KM_PER_DEG_LAT
    return Polygon(np.column_stack([xs, ys]))


def blob(lon: float, lat: float, radius_km: float, gen: np.random.Generator,
         roughness: float = 0.3, n: int = 64) -> Polygon:
    """An irregular, star-shaped (hence always valid) patch around a point."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(1, 6):
        r += roughness / k * gen.normal() * np.cos(k * t + gen.uniform(0, 2 * np.pi))
    r = radius_km * np.clip(r, 0.35, None)
    xs = lon + r * np.cos(t) / km_per_deg_lon(lat)
    ys = lat + r * np.sin(t) / KM_PER_DEG_LAT
    return Polygon(np.column_stack([xs, ys]))


def wiggle(coords: list[tuple[float, float]], gen: np.random.Generator, step_km: float = 1.5,
           amp_km: float = 0.6) -> list[tuple[float, float]]:
    """Densify a polyline and add meanders; the anchor vertices themselves stay exactly put."""
    out = [coords[0]]
    for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:], strict=True):
        kx = km_per_deg_lon((y0 + y1) / 2)
        dx, dy = (x1 - x0) * kx, (y1 - y0) * KM_PER_DEG_LAT
        length = math.hypot(dx, dy)
        n = max(2, int(length / step_km))
        s = np.linspace(0, 1, n + 1)[1:-1]
        offs = amp_km * np.sin(np.pi * s) * np.sin(s * gen.uniform(2, 5) * np.pi
                                                   + gen.uniform(0, 2 * np.pi))
        nx, ny = -dy / length, dx / length
        for si, o in zip(s, offs, strict=True):
            out.append((x0 + (x1 - x0) * si + nx * o / kx,
                        y0 + (y1 - y0) * si + ny * o / KM_PER_DEG_LAT))
        out.append((x1, y1))
    return [(round(x, 6), round(y, 6)) for x, y in out]


@dataclass(frozen=True)
class Town:
    name: str
    lon: float
    lat: float
    #: Urban population in 10,000s (drives how many sources/receptors cluster around it).
    pop: float
    #: True for an industrial park or a town with heavy industry.
    industrial: bool = False


TOWNS: tuple[Town, ...] = (
    Town("合肥", 117.23, 31.82, 500, True), Town("新站", 117.36, 31.91, 40, True),
    Town("合肥经开区", 117.20, 31.76, 40, True), Town("合肥高新区", 117.12, 31.83, 35, True),
    Town("滨湖新区", 117.30, 31.74, 35), Town("巢湖", 117.87, 31.61, 45, True),
    Town("肥西", 117.16, 31.71, 30, True), Town("肥东", 117.47, 31.89, 25, True),
    Town("庐江", 117.29, 31.26, 22, True), Town("舒城", 116.95, 31.46, 20, True),
    Town("长丰", 117.17, 32.03, 18, True), Town("撮镇", 117.43, 31.83, 10, True),
    Town("三河", 117.25, 31.51, 6), Town("杭埠", 117.08, 31.46, 8, True),
    Town("柘皋", 117.78, 31.78, 5), Town("桃花", 117.14, 31.76, 12, True),
    Town("双墩", 117.25, 32.00, 8, True), Town("烔炀", 117.71, 31.67, 4),
    Town("龙桥", 117.22, 31.10, 3, True), Town("汤池", 117.01, 31.17, 3),
    Town("中派", 117.01, 31.63, 4), Town("店埠", 117.50, 31.92, 6, True),
    Town("梁园", 117.70, 32.00, 3), Town("黄麓", 117.56, 31.63, 4),
    Town("槐林", 117.66, 31.45, 3), Town("散兵", 117.94, 31.48, 3),
)

#: County seats (generator points of the county cells; urban districts pulled towards their
#: real extent), adcode, name, parent, and a weight (< 1 shrinks the cell, as urban districts).
COUNTY_SEATS = (
    ("340102", "瑶海区", 117.37, 31.90, 0.40), ("340103", "庐阳区", 117.24, 31.93, 0.38),
    ("340104", "蜀山区", 117.15, 31.84, 0.45), ("340111", "包河区", 117.32, 31.75, 0.45),
    ("340121", "长丰县", 117.20, 32.08, 1.0), ("340122", "肥东县", 117.62, 31.92, 1.0),
    ("340123", "肥西县", 117.00, 31.65, 0.95), ("340124", "庐江县", 117.33, 31.22, 1.05),
    ("340181", "巢湖市", 117.88, 31.58, 1.0), ("341523", "舒城县", 116.90, 31.38, 0.95),
)
PARENT = {"341523": "341500"}
CITY = ("340100", "合肥市")

#: Chaohu shoreline anchors, clockwise from the west end (≈117.28–117.87E, 31.46–31.71N).
LAKE_ANCHORS = (
    (117.28, 31.64), (117.31, 31.695), (117.37, 31.71), (117.43, 31.68), (117.50, 31.655),
    (117.56, 31.665), (117.62, 31.685), (117.69, 31.675), (117.76, 31.645), (117.82, 31.625),
    (117.865, 31.60), (117.845, 31.56), (117.78, 31.54), (117.72, 31.515), (117.66, 31.475),
    (117.60, 31.465), (117.54, 31.49), (117.47, 31.51), (117.41, 31.525), (117.36, 31.55),
    (117.31, 31.585),
)
LAKE_OUTLET = (117.865, 31.60)
ISLAND = (117.625, 31.565)  # 姥山岛


def _outline() -> Polygon:
    """Region outline: the envelope with its edges pushed inwards by up to ≈6 km of noise."""
    f = SineField(rng("outline"), 8, (30, 120))
    x0, y0, x1, y1 = BBOX
    n = 200
    edge = np.linspace(0, 1, n, endpoint=False)
    pts = np.concatenate([
        np.column_stack([x0 + (x1 - x0) * edge, np.full(n, y0)]),
        np.column_stack([np.full(n, x1), y0 + (y1 - y0) * edge]),
        np.column_stack([x1 - (x1 - x0) * edge, np.full(n, y1)]),
        np.column_stack([np.full(n, x0), y1 - (y1 - y0) * edge]),
    ])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    shift = 0.03 + 0.03 * f(pts[:, 0], pts[:, 1])  # degrees, 0..0.06 inward
    vec = np.column_stack([cx - pts[:, 0], cy - pts[:, 1]])
    vec /= np.abs(vec).max(axis=1, keepdims=True)  # move towards the centre, box-normalised
    pts = pts + vec * np.clip(shift, 0.0, 0.06)[:, None]
    return shapely.make_valid(Polygon(np.round(pts, 6))).buffer(0)


def _lake() -> Polygon:
    gen = rng("lake")
    ring = wiggle([*LAKE_ANCHORS, LAKE_ANCHORS[0]], gen, step_km=1.2, amp_km=0.5)
    island = ellipse(*ISLAND, 0.9, 0.6, n=24)
    lake = Polygon(ring[:-1], [list(island.exterior.coords)])
    return shapely.make_valid(lake).buffer(0)


def pixel_grid(res: float) -> tuple[Affine, int, int, np.ndarray, np.ndarray]:
    """A north-up lon/lat grid over BBOX: transform, width, height, pixel-centre lon and lat."""
    x0, y0, x1, y1 = BBOX
    w, h = int(round((x1 - x0) / res)), int(round((y1 - y0) / res))
    lon = x0 + (np.arange(w) + 0.5) * res
    lat = y1 - (np.arange(h) + 0.5) * res
    glon, glat = np.meshgrid(lon, lat)
    return from_origin(x0, y1, res, res), w, h, glon, glat


def _counties(outline: Polygon) -> list[tuple[str, str, Polygon]]:
    """County cells: a noisy weighted Voronoi diagram, rasterised, polygonised and then
    simplified as a coverage so neighbours keep sharing exact borders (no gaps or overlaps)."""
    transform, w, h, glon, glat = pixel_grid(0.004)
    noise = SineField(rng("counties"), 10, (10, 40))(glon, glat)
    kx = km_per_deg_lon(31.5)
    cost = np.stack([np.hypot((glon - sx) * kx, (glat - sy) * KM_PER_DEG_LAT) / wt
                     + 3.0 * noise for _, _, sx, sy, wt in COUNTY_SEATS])
    labels = cost.argmin(axis=0).astype("int32") + 1
    inside = features.geometry_mask([outline], (h, w), transform, invert=True)
    labels[~inside] = 0
    polys: dict[int, list[Polygon]] = {}
    for geom, value in features.shapes(labels, mask=labels > 0, transform=transform):
        polys.setdefault(int(value), []).append(shape(geom))
    cells = []
    for i, (code, name, *_rest) in enumerate(COUNTY_SEATS, start=1):
        parts = sorted(polys[i], key=lambda p: -p.area)
        cells.append((code, name, parts[0] if len(parts) == 1 else shapely.union_all(parts)))
    simplified = shapely.coverage_simplify([c[2] for c in cells], 0.004)
    return [(c, n, shapely.make_valid(g)) for (c, n, _), g in zip(cells, simplified, strict=True)]


@dataclass(frozen=True)
class River:
    """A river digitised from source to mouth; it ends in the lake, in a parent river (at one of
    the parent's anchor vertices) or at the region's outlet."""

    code: str
    name: str
    anchors: tuple[tuple[float, float], ...]
    #: "lake" | "outlet" | (parent code, anchor index).
    into: str | tuple[str, int]
    #: Anchor indices where the river is cut into reaches (besides tributary junctions).
    cuts: tuple[int, ...] = ()


RIVERS: tuple[River, ...] = (
    River("NFH", "南淝河", ((117.08, 32.02), (117.13, 31.97), (117.17, 31.925), (117.23, 31.885),
                          (117.28, 31.862), (117.32, 31.835), (117.35, 31.785), (117.38, 31.745),
                          (117.385, 31.72)), "lake", (2, 4)),
    River("SLH", "四里河", ((117.19, 32.00), (117.22, 31.95), (117.25, 31.90), (117.28, 31.862)),
          ("NFH", 4)),
    River("DBH", "店埠河", ((117.58, 32.03), (117.52, 31.95), (117.47, 31.88), (117.42, 31.80),
                          (117.38, 31.745)), ("NFH", 7), (2,)),
    River("SWL", "十五里河", ((117.13, 31.80), (117.20, 31.78), (117.26, 31.755),
                            (117.32, 31.72)), "lake"),
    River("PAH", "派河", ((116.95, 31.80), (117.03, 31.76), (117.11, 31.725), (117.19, 31.69),
                        (117.26, 31.66)), "lake", (2,)),
    River("HBH", "杭埠河", ((116.84, 31.14), (116.86, 31.25), (116.92, 31.36), (117.00, 31.43),
                          (117.12, 31.475), (117.25, 31.505), (117.33, 31.55)), "lake", (2, 4)),
    River("FLH", "丰乐河", ((116.84, 31.60), (116.93, 31.57), (117.03, 31.545), (117.14, 31.52),
                          (117.25, 31.505)), ("HBH", 5), (2,)),
    River("BST", "白石天河", ((117.22, 31.18), (117.29, 31.27), (117.36, 31.36), (117.42, 31.44),
                            (117.46, 31.51)), "lake", (2,)),
    River("ZHH", "兆河", ((117.50, 31.16), (117.54, 31.28), (117.57, 31.38), (117.60, 31.47)),
          "lake"),
    River("ZGH", "柘皋河", ((117.86, 31.93), (117.81, 31.84), (117.77, 31.75),
                          (117.74, 31.67)), "lake"),
    River("TYH", "烔炀河", ((117.68, 31.84), (117.70, 31.76), (117.705, 31.68)), "lake"),
    River("YXH", "裕溪河", (LAKE_OUTLET, (117.93, 31.57), (117.99, 31.52), (118.05, 31.48),
                          (118.09, 31.44)), "outlet", (2,)),
)
#: A flow path through the lake (west → east to the outlet) so inflows join one network.
LAKE_PATH = ((117.33, 31.63), (117.42, 31.62), (117.52, 31.60), (117.60, 31.61), (117.68, 31.59),
             (117.77, 31.59), LAKE_OUTLET)


def _rivers(lake: Polygon) -> list[dict]:
    """Reaches of the river network, each digitised downstream with its downstream reach id.

    A river flowing into the lake ends on the shoreline; a virtual reach joins its mouth to the
    lake flow path, which drains through 裕溪河 to the outlet, so one tree holds every reach.
    """
    gen = rng("rivers")
    shore = lake.exterior
    first_reach: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, int, str]]] = {}
    reaches: list[dict] = []
    joins = {r.into[0]: [] for r in RIVERS if isinstance(r.into, tuple)}
    for r in RIVERS:
        if isinstance(r.into, tuple):
            joins[r.into[0]].append(r.into[1])
    # lake path reaches
    path_ids = [f"CHL{i + 1:02d}" for i in range(len(LAKE_PATH) - 1)]
    for i, rid in enumerate(path_ids):
        reaches.append({"reach_id": rid, "name": "巢湖湖区", "coords": [LAKE_PATH[i],
                        LAKE_PATH[i + 1]], "downstream_id": path_ids[i + 1]
                        if i + 1 < len(path_ids) else "YXH01"})
    for r in RIVERS:
        anchors = list(r.anchors)
        if r.into == "lake":
            p = shore.interpolate(shore.project(Point(anchors[-1])))
            anchors[-1] = (round(p.x, 6), round(p.y, 6))
        cuts = sorted({0, len(anchors) - 1, *r.cuts, *joins.get(r.code, [])})
        pieces[r.code] = []
        for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
            rid = f"{r.code}{k + 1:02d}"
            coords = wiggle(anchors[a:b + 1], gen, amp_km=0.5 if r.code != "YXH" else 0.3)
            reaches.append({"reach_id": rid, "name": r.name, "coords": coords,
                            "downstream_id": None})
            pieces[r.code].append((a, b, rid))
        first_reach[r.code] = pieces[r.code][0][2]
    by_id = {x["reach_id"]: x for x in reaches}
    for r in RIVERS:
        chain = pieces[r.code]
        for (_, _, rid), (_, _, nxt) in zip(chain[:-1], chain[1:], strict=True):
            by_id[rid]["downstream_id"] = nxt
        last = by_id[chain[-1][2]]
        if isinstance(r.into, tuple):
            parent, idx = r.into
            last["downstream_id"] = next(rid for a, _, rid in pieces[parent] if a == idx)
        elif r.into == "lake":
            mouth = last["coords"][-1]
            j = min(range(len(LAKE_PATH) - 1), key=lambda i: math.dist(mouth, LAKE_PATH[i]))
            cid = f"{r.code}L"
            reaches.append({"reach_id": cid, "name": f"{r.name}入湖段(湖区)",
                            "coords": [mouth, LAKE_PATH[j]], "downstream_id": path_ids[j]})
            last["downstream_id"] = cid
    _strahler(reaches)
    for x in reaches:
        line = LineString(x["coords"])
        x["geometry"] = line
        x["length_km"] = round(_length_km(line), 3)
        del x["coords"]
    return sorted(reaches, key=lambda x: x["reach_id"])


def _length_km(line: LineString) -> float:
    c = np.asarray(line.coords)
    dx = np.diff(c[:, 0]) * km_per_deg_lon(float(c[:, 1].mean()))
    dy = np.diff(c[:, 1]) * KM_PER_DEG_LAT
    return float(np.hypot(dx, dy).sum())


def _strahler(reaches: list[dict]) -> None:
    """Strahler order: 1 at sources; where two reaches of the same highest order meet, +1."""
    ups: dict[str, list[str]] = {x["reach_id"]: [] for x in reaches}
    for x in reaches:
        if x["downstream_id"]:
            ups[x["downstream_id"]].append(x["reach_id"])
    order: dict[str, int] = {}

    def visit(rid: str) -> int:
        if rid not in order:
            up = sorted((visit(u) for u in ups[rid]), reverse=True)
            order[rid] = 1 if not up else (up[0] + 1 if len(up) > 1 and up[1] == up[0] else up[0])
        return order[rid]

    for x in reaches:
        x["stream_order"] = visit(x["reach_id"])


#: Reservoirs: name, centre, radii (km) — 董铺/大房郢 north-west of Hefei, 众兴 in 肥西,
#: 龙河口 (万佛湖) in 舒城.
RESERVOIRS = (
    ("WB02", "董铺水库", 117.165, 31.915, 2.6, 1.5),
    ("WB03", "大房郢水库", 117.225, 31.955, 2.0, 1.4),
    ("WB04", "众兴水库", 117.03, 31.70, 1.4, 1.0), ("WB05", "龙河口水库", 116.88, 31.26, 3.2, 2.2),
    ("WB06", "黄陂湖", 117.12, 31.20, 3.0, 2.0),
)


def _water_bodies(lake: Polygon) -> list[dict]:
    gen = rng("water_bodies")
    out = [{"water_body_id": "WB01", "name": "巢湖", "kind": "lake", "geometry": lake}]
    for wid, name, lon, lat, rx, ry in RESERVOIRS:
        g = blob(lon, lat, 1.0, gen, 0.25)
        g = shapely.affinity.scale(g, rx, ry, origin=(lon, lat))
        kind = "lake" if name.endswith("湖") else "reservoir"
        out.append({"water_body_id": wid, "name": name, "kind": kind, "geometry": g.buffer(0)})
    return out


def area_km2(geom) -> float:
    """Area in km² by a local equal-area scaling (good to <1% at this size and latitude)."""
    lat = geom.centroid.y
    return float(geom.area * km_per_deg_lon(lat) * KM_PER_DEG_LAT)


@dataclass(frozen=True)
class Geography:
    outline: Polygon
    lake: Polygon
    #: (adcode, name, polygon) of each county-level unit.
    counties: tuple[tuple[str, str, Polygon], ...]
    reaches: tuple[dict, ...]
    water_bodies: tuple[dict, ...]

    @property
    def water(self):
        """All open water (lake and reservoirs), for keeping land features off it."""
        return shapely.union_all([w["geometry"] for w in self.water_bodies])

    def county_of(self, lon, lat) -> np.ndarray:
        """Adcode of the county containing each point ('' outside the region)."""
        pts = shapely.points(np.asarray(lon), np.asarray(lat))
        out = np.full(pts.shape, "", dtype=object)
        for code, _, poly in self.counties:
            shapely.prepare(poly)
            out[(out == "") & shapely.contains(poly, pts)] = code
        return out

    def on_land(self, lon, lat, margin_km: float = 0.3) -> np.ndarray:
        """True where a point is inside the region and not on (or within margin of) water."""
        pts = shapely.points(np.asarray(lon), np.asarray(lat))
        water = self.water.buffer(margin_km / KM_PER_DEG_LAT)
        shapely.prepare(water)
        shapely.prepare(self.outline)
        return shapely.contains(self.outline, pts) & ~shapely.intersects(water, pts)


@lru_cache(maxsize=1)
def geography() -> Geography:
    """The region's geography (computed once per process; it is pure and deterministic)."""
    outline = _outline()
    lake = _lake()
    counties = _counties(outline)
    outline = shapely.union_all([c[2] for c in counties])
    return Geography(outline, lake, tuple(counties), tuple(_rivers(lake)),
                     tuple(_water_bodies(lake)))
