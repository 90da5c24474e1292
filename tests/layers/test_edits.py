"""Single-feature edits at the store level: GeoPackage rows written with SQLite that GDAL reads
back through its spatial index, which layers are editable, keys made in sequence."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from onemap.catalog import Entry
from onemap.layers import edits, gpkg_rows


def _layer(tmp_path: Path) -> Path:
    path = tmp_path / "zones.gpkg"
    frame = gpd.GeoDataFrame({"zone_id": ["a"]}, crs=4326,
                             geometry=[shapely.box(117.0, 31.0, 117.1, 31.1)])
    pyogrio.write_dataframe(frame, path, layer="zones", driver="GPKG",
                            geometry_type="MultiPolygon",
                            layer_options={"SPATIAL_INDEX": "YES"})
    return path


def test_rows_written_with_sqlite_are_indexed_as_gdal_would(tmp_path: Path) -> None:
    path = _layer(tmp_path)
    square = shapely.MultiPolygon([shapely.box(118.0, 32.0, 118.2, 32.3)])
    with gpkg_rows.transaction(path) as conn:
        fid = gpkg_rows.insert(conn, "zones", {"zone_id": "b", "geom": gpkg_rows.encode(square)})
        gpkg_rows.touch_contents(conn, "zones", square)
    found = pyogrio.read_dataframe(path, layer="zones", bbox=(118.1, 32.1, 118.15, 32.15))
    assert list(found["zone_id"]) == ["b"]
    assert found.geometry.iloc[0].equals(square)
    assert pyogrio.read_info(path, layer="zones")["features"] == 2
    moved = shapely.MultiPolygon([shapely.box(119.0, 33.0, 119.1, 33.1)])
    with gpkg_rows.transaction(path) as conn:
        gpkg_rows.update(conn, "zones", "fid", fid, {"geom": gpkg_rows.encode(moved)})
    assert pyogrio.read_dataframe(path, layer="zones", bbox=(118.1, 32.1, 118.15, 32.15)).empty
    assert len(pyogrio.read_dataframe(path, layer="zones", bbox=(119.0, 33.0, 119.1, 33.1))) == 1
    with gpkg_rows.transaction(path) as conn:
        gpkg_rows.delete(conn, "zones", "fid", fid)
    assert pyogrio.read_dataframe(path, layer="zones", bbox=(119.0, 33.0, 119.1, 33.1)).empty
    assert gpkg_rows.decode(gpkg_rows.encode(square)).equals(square)


def test_a_failed_transaction_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = _layer(tmp_path)
    point = shapely.MultiPolygon([shapely.box(118.0, 32.0, 118.2, 32.3)])
    with pytest.raises(RuntimeError), gpkg_rows.transaction(path) as conn:
        gpkg_rows.insert(conn, "zones", {"zone_id": "b", "geom": gpkg_rows.encode(point)})
        raise RuntimeError("refused half-way")
    assert pyogrio.read_info(path, layer="zones")["features"] == 1
    assert pyogrio.read_dataframe(path, layer="zones", bbox=(118.0, 32.0, 118.2, 32.3)).empty


def _entry(family: str, editable: bool | None = None, kind: str = "vector") -> Entry:
    return Entry(id="x", kind=kind, family=family, title="x", path="store/x.gpkg",
                 editable=editable)


def test_editable_by_family_or_entry() -> None:
    assert edits.editable(_entry("incidents"))
    assert not edits.editable(_entry("incidents", editable=False))
    assert not edits.editable(_entry("rivers"))
    assert edits.editable(_entry("water_intakes", editable=True))
    assert not edits.editable(_entry("air_hourly", editable=True, kind="table"))
    with pytest.raises(edits.EditError) as refused:
        edits.layer(_entry("rivers"), None, "fid", "geom")  # type: ignore[arg-type]
    assert refused.value.status == 405
