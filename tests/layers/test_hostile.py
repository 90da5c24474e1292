"""Hostile and oversized vector files: references to other files or URLs, unsafe or bloated
zips, thousands of columns, truncated Shapefiles — each refused in words naming the file, with
nothing catalogued, nothing fetched and nothing written outside the import's own folder."""

from __future__ import annotations

import json
import sqlite3
import stat
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from onemap.config import Settings
from onemap.layers.errors import LayerImportError
from onemap.layers.importer import import_file
from tests.raster import hostile


def _refused(path: Path, settings: Settings, words: str, family: str = "air_stations",
             **kw) -> str:
    with pytest.raises(LayerImportError) as info:
        import_file(path, family, settings=settings, **kw)
    message = str(info.value)
    assert path.name in message and words in message, message
    assert "Traceback" not in message and "ONEMAP-SECRET" not in message
    assert not settings.catalog_path.exists()
    return message


def _ogr_vrt(path: Path, source: str) -> Path:
    path.write_text(f"""<OGRVRTDataSource><OGRVRTLayer name="stations">
  <SrcDataSource>{source}</SrcDataSource><GeometryType>wkbPoint</GeometryType>
  <LayerSRS>EPSG:4326</LayerSRS><GeometryField encoding="PointFromColumns" x="经度" y="纬度"/>
</OGRVRTLayer></OGRVRTDataSource>""", encoding="utf-8")
    return path


@pytest.fixture
def secret_csv(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "stations.csv"
    path.parent.mkdir()
    path.write_text("站点编码,站点名称,站点类型,经度,纬度\n"
                    "1001A,ONEMAP-SECRET-7f3a9c,国控,117.2,31.8\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["stations.geojson", "stations.json", "stations.gpkg",
                                  "stations.shp"])
def test_ogr_vrt_under_any_vector_name(tmp_path: Path, settings: Settings, secret_csv: Path,
                                       name: str) -> None:
    vrt = _ogr_vrt(tmp_path / name, str(secret_csv))
    if name.endswith(".geojson"):  # plain GDAL follows it
        assert "ONEMAP-SECRET-7f3a9c" in set(pyogrio.read_dataframe(vrt)["站点名称"])
    words = {".gpkg": "not a GeoPackage", ".shp": "not a Shapefile"}.get(vrt.suffix, "OGR VRT")
    _refused(vrt, settings, words)


def test_geojson_crs_link_is_not_fetched(tmp_path: Path, settings: Settings,
                                         stations: gpd.GeoDataFrame) -> None:
    with hostile.web_server(tmp_path / "www") as (url, hits):
        (tmp_path / "www" / "crs.wkt").write_text(stations.crs.to_wkt(), encoding="utf-8")
        doc = json.loads(stations.to_json())
        doc["crs"] = {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}}
        src = tmp_path / "linked.geojson"
        src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        pyogrio.read_info(src)
        assert hits, "plain GDAL fetches a CRS link"
        hits.clear()
        _refused(src, settings, "link")
        assert hits == []


def test_sqlite_that_is_not_a_geopackage(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "plain.gpkg"
    with sqlite3.connect(src) as db:
        db.execute("CREATE TABLE t (a INTEGER)")
    _refused(src, settings, "not a GeoPackage")


def _zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def _shapefile_parts(frame: gpd.GeoDataFrame, folder: Path, stem: str = "zones") -> dict:
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{stem}.shp", encoding="GBK")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("member", "words"), [
    ("../evil.shp", "'..'"), ("/tmp/evil.shp", "absolute path"), ("C:/evil.shp", "absolute"),
])
def test_zip_members_outside_the_folder(tmp_path: Path, settings: Settings,
                                        stations: gpd.GeoDataFrame, member: str,
                                        words: str) -> None:
    parts = _shapefile_parts(stations, tmp_path / "parts")
    src = _zip(tmp_path / "evil.zip", {**parts, member: parts["zones.shp"]})
    _refused(src, settings, words)
    assert not (tmp_path / "evil.shp").exists()


def test_zip_symlink_member(tmp_path: Path, settings: Settings,
                            stations: gpd.GeoDataFrame) -> None:
    parts = _shapefile_parts(stations, tmp_path / "parts")
    src = _zip(tmp_path / "link.zip", {k: v for k, v in parts.items() if k != "zones.prj"},
               symlink="zones.prj")
    _refused(src, settings, "symbolic link")


def _big_points(n: int) -> gpd.GeoDataFrame:
    codes = [f"{i % 10000:04d}{chr(65 + i // 10000)}" for i in range(n)]
    return gpd.GeoDataFrame({"站点编码": codes,
                             "站点名称": ["站" * 80] * n, "站点类型": ["国控"] * n},
                            geometry=[Point(117 + i * 1e-5, 31.8) for i in range(n)],
                            crs="EPSG:4490")


def test_zip_that_unpacks_too_large(tmp_path: Path, settings: Settings) -> None:
    parts = _shapefile_parts(_big_points(20_000), tmp_path / "parts")
    unpacked = sum(len(v) for v in parts.values())
    src = _zip(tmp_path / "bomb.zip", parts)
    assert src.stat().st_size < unpacked / 20  # a small zip, a large Shapefile
    small = replace(settings, max_zip_mb=1)
    _refused(src, small, "ONEMAP_MAX_ZIP_MB")
    assert import_file(src, "air_stations", settings=replace(settings, max_zip_mb=50)
                       ).feature_count == 20_000


def test_zip_whose_declared_sizes_lie(tmp_path: Path, settings: Settings,
                                      stations: gpd.GeoDataFrame) -> None:
    src = _zip(tmp_path / "liar.zip", _shapefile_parts(stations, tmp_path / "parts"))
    data = bytearray(src.read_bytes())
    at = data.find(b"PK\x01\x02")  # first central-directory entry: its uncompressed size
    while at != -1:
        data[at + 24:at + 28] = struct.pack("<I", 10)
        at = data.find(b"PK\x01\x02", at + 4)
    src.write_bytes(bytes(data))
    _refused(src, settings, "damaged")


def test_zip_with_too_many_members(tmp_path: Path, settings: Settings,
                                   stations: gpd.GeoDataFrame) -> None:
    parts = _shapefile_parts(stations, tmp_path / "parts")
    extra = {f"docs/readme_{i}.txt": b"x" for i in range(20)}
    src = _zip(tmp_path / "many.zip", {**parts, **extra})
    _refused(src, replace(settings, max_zip_members=10), "ONEMAP_MAX_ZIP_MEMBERS")


@pytest.mark.parametrize("columns", [5_000, 100_000])
def test_csv_with_too_many_columns(tmp_path: Path, settings: Settings, columns: int) -> None:
    src = tmp_path / "wide.csv"
    header = ["站点编码", "站点名称", "站点类型", "经度", "纬度"]
    header += [f"c{i}" for i in range(columns)]
    row = ["1001A", "测试站", "国控", "117.2", "31.8"] + ["1"] * columns
    src.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    message = _refused(src, settings, "ONEMAP_MAX_CSV_COLUMNS")
    assert f"{columns + 5:,} columns" in message


def test_vector_file_with_too_many_fields(tmp_path: Path, settings: Settings,
                                          stations: gpd.GeoDataFrame) -> None:
    wide = stations.copy()
    for i in range(30):
        wide[f"extra_{i}"] = i
    src = tmp_path / "wide.geojson"
    pyogrio.write_dataframe(wide, src)
    _refused(src, replace(settings, max_csv_columns=20), "ONEMAP_MAX_CSV_COLUMNS")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zones(n: int = 300) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_id": [f"A{i}" for i in range(n)],
                             "name": [f"区{i}" for i in range(n)]},
                            geometry=[Point(117 + i * 0.01, 31).buffer(0.004) for i in range(n)],
                            crs="EPSG:4490")


def test_truncated_shapefile(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "parts"
    parts = _shapefile_parts(_zones(), folder)
    _truncate(folder / "zones.shp")
    _refused(folder / "zones.shp", settings, "zones.shp is truncated", family="protected_areas")
    parts["zones.shp"] = (folder / "zones.shp").read_bytes()
    src = _zip(tmp_path / "zones.zip", parts)
    _refused(src, settings, "zones.shp is truncated", family="protected_areas")


def test_truncated_dbf(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "parts"
    _shapefile_parts(_zones(), folder)
    _truncate(folder / "zones.dbf")
    _refused(folder / "zones.shp", settings, "cannot be read", family="protected_areas")
