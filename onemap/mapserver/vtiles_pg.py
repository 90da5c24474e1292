"""Vector tiles drawn by PostGIS (``ST_AsMVT``), for a layer served from PostgreSQL when
``ONEMAP_VECTOR_TILES=postgis``.

The same tile as :mod:`onemap.mapserver.vtiles_data` draws from the GeoPackage's R-tree: the
features whose box centre is in the tile are counted (on the GiST index); up to
``max_features`` the tile holds every feature meeting the tile and its buffer, clipped and
snapped by ``ST_AsMVTGeom``; above, one point per cell of a 16 × 16 grid (the tiles of zoom
z + 4) with its ``count``, ``magnitude``, extent and ``cell``, in the layer ``<id>_clusters``.
Both are encoded by ``ST_AsMVT``. A tile is one or two statements on the pool's connection.

This is how TiPg and most PostGIS tile servers work. It is not the default: the bench
(``bench/store.py``) measures it as fast as the index for tiles of features but 2.6–134×
slower for grid tiles — counting a million features is one pass over numpy arrays there, a
``GROUP BY`` of every row here (bench/README.md has the figures).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from psycopg import sql

from onemap.catalog import Entry
from onemap.mapserver.mvt_encode import EXTENT
from onemap.mapserver.vtiles_data import BUFFER, GRID, GRID_ZOOMS, Source, Tile, TileFrame
from onemap.mapserver.vtiles_index import width0
from onemap.store import pg_load, served_from_postgis
from onemap.store.pg_pool import SCHEMA, connection


def serves(entry: Entry, served: Path, settings: Any) -> bool:
    """Whether ``entry``'s tiles are drawn here: PostGIS tiles asked for, the layer served from
    its own file (not from a view of it: the latest AQI, a section's class) and its table
    holding that file's current version (else the index draws them, from the file)."""
    return (settings.vector_tiles == "postgis" and served_from_postgis(entry, settings)
            and entry.kind == "vector" and served == entry.file(settings)
            and pg_load.is_current(entry, settings))


CX = sql.SQL("((ST_XMin(geom) + ST_XMax(geom)) / 2)")
CY = sql.SQL("((ST_YMin(geom) + ST_YMax(geom)) / 2)")


def _fraction(frame: TileFrame, cx: sql.Composable = CX, cy: sql.Composable = CY
              ) -> tuple[sql.Composable, sql.Composable]:
    """The box centre as fractions of the matrix set's width and height (u east, v south;
    Web Mercator clamped at ±85.05°), as :func:`~onemap.mapserver.vtiles_index.world_fraction`
    computes it for the index."""
    u = sql.SQL("(({} + 180.0) / 360.0)").format(cx)
    if frame.mercator:
        v = sql.SQL("(0.5 - ln(tan(pi() / 4 + radians(greatest(least({}, 85.0511287798), "
                    "-85.0511287798)) / 2)) / (2 * pi()))").format(cy)
    else:
        v = sql.SQL("((90.0 - {}) / 180.0)").format(cy)
    return u, v


def _where(frame: TileFrame, visible: np.ndarray | None, *, centred: bool
           ) -> tuple[sql.Composable, list]:
    """Rows meeting the buffered tile, or (``centred``) whose box centre is in the tile: its
    column and row of the matrix, as the index finds them."""
    parts = [sql.SQL("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")]
    args: list = list(frame.buffered(0 if centred else BUFFER))
    if centred:
        u, v = _fraction(frame)
        cols, size = width0(frame.tms) * (1 << frame.z), 1 << frame.z
        parts.append(sql.SQL("least(floor({} * %s), %s) = %s AND least(floor({} * %s), %s) = %s"
                             ).format(u, v))
        args += [cols, cols - 1, frame.x, size, size - 1, frame.y]
    if visible is not None:
        parts.append(sql.SQL("fid = ANY(%s)"))
        args.append(visible.astype(np.int64).tolist())
    return sql.SQL(" AND ").join(parts), args


def render(src: Source, frame: TileFrame, visible: np.ndarray | None,
           max_features: int, settings: Any) -> Tile:
    """The tile of ``src``'s table (``layers.<id>``) at ``frame``, for a caller who sees
    ``visible`` fids (None: all)."""
    table = sql.Identifier(SCHEMA, src.table)
    where, args = _where(frame, visible, centred=True)
    with connection(settings) as conn:
        count = int(conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            table, where), args).fetchone()[0])
        if count > max_features:
            return _clusters(conn, src, frame, where, args, count)
        return _features(conn, src, frame, visible)


def _features(conn, src: Source, frame: TileFrame, visible: np.ndarray | None) -> Tile:  # type: ignore[no-untyped-def]
    where, args = _where(frame, visible, centred=False)
    columns = [sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {}"
                       ).format(sql.Identifier(c), sql.Identifier(c))
               if t.upper() in ("DATETIME", "TIMESTAMP") else sql.Identifier(c)
               for c, t in src.columns]
    if frame.mercator:
        geom = sql.SQL("ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s), "
                       "%s, %s, true)")
        geom_args: list = [frame.z, frame.x, frame.y, EXTENT, BUFFER]
    else:
        w, s, e, n = frame.lonlat
        geom = sql.SQL("ST_AsMVTGeom(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)::box2d, "
                       "%s, %s, true)")
        geom_args = [w, s, e, n, EXTENT, BUFFER]
    query = sql.SQL("SELECT ST_AsMVT(q, %s, %s, 'geom', 'fid'), count(q.geom) FROM ("
                    "SELECT fid, {} AS geom{} FROM {} WHERE {}) AS q WHERE q.geom IS NOT NULL"
                    ).format(geom, sql.SQL("").join(sql.SQL(", ") + c for c in columns),
                             sql.Identifier(SCHEMA, src.table), where)
    data, n = conn.execute(query, [src.table, EXTENT, *geom_args, *args]).fetchone()
    return Tile(bytes(data or b""), "features", int(n))


def _clusters(conn, src: Source, frame: TileFrame, where: sql.Composable, args: list,  # type: ignore[no-untyped-def]
              count: int) -> Tile:
    """The grid tile: each centred feature counted in its cell, in one ``GROUP BY`` (the
    numbers bound as bigint: psycopg sends small ints as smallint, and a cell's id at zoom 12
    is past 2**31)."""
    u, v = _fraction(frame, sql.SQL("cx"), sql.SQL("cy"))
    cols, size = width0(frame.tms) * (1 << frame.z), 1 << frame.z
    cell = sql.SQL("least(greatest(floor(({} * %s - %s) * %s)::int, 0), %s)")
    zc, last = frame.z + GRID_ZOOMS, GRID - 1
    query = sql.SQL(
        "WITH f AS (SELECT {cx} AS cx, {cy} AS cy, ST_XMin(geom) AS minx, "
        "ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy FROM {table} "
        "WHERE {where}), g AS (SELECT {col} AS c, {row} AS r, count(*) AS n, avg({u}) AS mu, "
        "avg({v}) AS mv, min(minx) AS minx, min(miny) AS miny, max(maxx) AS maxx, "
        "max(maxy) AS maxy FROM f GROUP BY 1, 2) "
        "SELECT ST_AsMVT(q, %s, %s, 'geom', 'id') FROM (SELECT "
        "(%s::bigint * %s + r) * %s::bigint + %s::bigint * %s + c AS id, n AS count, "
        "floor(log(greatest(n, 1)))::int AS magnitude, round(minx::numeric, 6)::float8 AS minx,"
        " round(miny::numeric, 6)::float8 AS miny, round(maxx::numeric, 6)::float8 AS maxx, "
        "round(maxy::numeric, 6)::float8 AS maxy, %s || '/' || (%s::bigint * %s + r) || '/' || "
        "(%s::bigint * %s + c) AS cell, ST_MakePoint("
        "least(greatest(round((mu * %s - %s) * %s), 0), %s), "
        "least(greatest(round((mv * %s - %s) * %s), 0), %s)) AS geom FROM g) AS q").format(
        table=sql.Identifier(SCHEMA, src.table), where=where,
        col=cell.format(u), row=cell.format(v), u=u, v=v, cx=CX, cy=CY)
    data = conn.execute(query, [
        *args, cols, frame.x, GRID, last, size, frame.y, GRID, last,
        f"{src.table}_clusters", EXTENT,
        frame.y, GRID, cols * GRID, frame.x, GRID,
        str(zc), frame.y, GRID, frame.x, GRID,
        cols, frame.x, EXTENT, EXTENT, size, frame.y, EXTENT, EXTENT]).fetchone()[0]
    return Tile(bytes(data or b""), "clusters", count)
