"""Uploading rasters over HTTP to the real server: every data type and CRS becomes a tiled raster,
every broken file gets a 4xx in words, and nothing is left behind by a refused, interrupted or
cancelled upload."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from onemap.config import Settings
from tests.conftest import Caller
from tests.raster import makers
from tests.server import run_server

pytestmark = pytest.mark.server


def _wait(job_url: str, headers: dict[str, str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = requests.get(job_url, headers=headers, timeout=30).json()
        if doc["status"] in ("successful", "failed", "dismissed"):
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.3)


def _upload(base: str, path: Path, headers: dict[str, str], **fields: str
            ) -> requests.Response:
    with open(path, "rb") as fh:
        return requests.post(f"{base}/api/rasters", files={"file": (path.name, fh, "image/tiff")},
                             data=fields, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def up(callers: dict[str, Caller]) -> dict[str, str]:
    """Headers of the analyst account: uploading and removing rasters need the role."""
    return callers["analyst"].headers


def _tile_at(base: str, dataset_id: str, lon: float, lat: float, z: int = 10) -> requests.Response:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return requests.get(f"{base}/raster/{dataset_id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
                        timeout=60)


def _leftovers(settings: Settings, dataset_id: str) -> list[str]:
    staged = list(settings.upload_dir.glob("*")) if settings.upload_dir.exists() else []
    cogs = list(settings.raster_dir.glob(f"*{dataset_id}*"))
    return [p.name for p in staged + cogs]


@pytest.mark.parametrize(("dtype", "count", "crs", "nodata"), [
    ("uint8", 1, "EPSG:4326", None), ("uint16", 4, "EPSG:4490", 0),
    ("int16", 1, "EPSG:32650", -32768), ("float32", 1, "EPSG:4490", -9999.0),
    ("float32", 3, "EPSG:4326", None),
])
def test_upload_every_dtype_tiles(live_server: str, sample_settings: Settings, tmp_path: Path,
                                  dtype: str, count: int, crs: str, nodata,
                                  up: dict[str, str]) -> None:
    dataset_id = f"up_{dtype}_{count}_{crs.split(':')[1]}"
    transform = makers.TRANSFORM
    if crs == "EPSG:32650":  # ~ the same place in UTM 50N metres
        from rasterio.transform import from_origin
        transform = from_origin(500000.0, 3540000.0, 100.0, 100.0)
    src = makers.write_geotiff(tmp_path / "in.tif", dtype=dtype, count=count, crs=crs,
                               nodata=nodata, transform=transform)
    r = _upload(live_server, src, up, id=dataset_id, title="上传测试", date="2025-07-20")
    assert r.status_code == 202, r.text
    assert r.headers["Location"].endswith(f"/api/jobs/{r.json()['jobID']}")
    job = _wait(r.headers["Location"], up)
    assert job["status"] == "successful", job
    try:
        summary = requests.get(f"{live_server}/api/rasters/{dataset_id}", timeout=30).json()
        assert summary["date"] == "2025-07-20" and len(summary["bands"]) == count
        minx, miny, maxx, maxy = summary["bounds"]
        tile = _tile_at(live_server, dataset_id, (minx + maxx) / 2, (miny + maxy) / 2)
        assert tile.status_code == 200, tile.text
        assert tile.headers["content-type"] == "image/png"
    finally:
        assert requests.delete(f"{live_server}/api/rasters/{dataset_id}", headers=up,
                               timeout=30).status_code == 204
    assert requests.get(f"{live_server}/api/rasters/{dataset_id}", timeout=30).status_code == 404
    assert _leftovers(sample_settings, dataset_id) == []


def test_scene_with_ndvi_expression(live_server: str, tmp_path: Path,
                                    up: dict[str, str]) -> None:
    src = makers.write_scene(tmp_path / "GF1 scene.tif")
    r = _upload(live_server, src, up, bands="blue,green,red,nir", expression="(b4-b3)/(b4+b3)",
                colormap="onemap_ndvi", rescale="-0.2,1", wait="true")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["id"] == "gf1_scene"  # from the file name
    assert [b["name"] for b in doc["bands"]] == list(makers.SCENE_BANDS)
    try:
        for left, lon in ((True, 117.1), (False, 117.5)):
            p = requests.get(f"{live_server}/raster/gf1_scene/point/{lon},31.8",
                             params={"expression": "(b4-b3)/(b4+b3)"}, timeout=30)
            assert p.status_code == 200, p.text
            assert p.json()["values"][0] == pytest.approx(makers.scene_ndvi(left), abs=1e-6)
        # the default rendering (expression + NDVI ramp) applies to a bare tile request
        assert _tile_at(live_server, "gf1_scene", 117.1, 31.8).status_code == 200
    finally:
        requests.delete(f"{live_server}/api/rasters/gf1_scene", headers=up, timeout=30)


@pytest.mark.parametrize(("maker", "fields", "status", "words"), [
    (makers.write_no_crs, {}, 422, "coordinate reference system"),
    (makers.write_no_geotransform, {}, 422, "geotransform"),
    (makers.write_truncated, {}, 422, "the uploaded file"),
    (makers.write_not_a_tiff, {}, 422, "not a readable raster"),
    (makers.write_scene, {"expression": "b5*2"}, 400, "b5"),
    (makers.write_scene, {"bands": "red,nir"}, 400, "band"),
    (makers.write_scene, {"colormap": "no_such_ramp"}, 400, "colormap"),
    (makers.write_scene, {"rescale": "5,1"}, 400, "rescale"),
    (makers.write_scene, {"id": "Bad Id"}, 400, "invalid dataset id"),
    (makers.write_scene, {"id": "red_lines"}, 409, "already exists"),
    (makers.write_scene, {"colour": "red"}, 400, "unknown field"),
])
def test_broken_uploads_are_refused_in_words(live_server: str, sample_settings: Settings,
                                             tmp_path: Path, maker, fields: dict, status: int,
                                             words: str, up: dict[str, str]) -> None:
    src = maker(tmp_path / "bad.tif")
    before = requests.get(f"{live_server}/api/catalog", timeout=30).json()
    r = _upload(live_server, src, up, **{"id": "bad_upload", **fields})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] and words in body["detail"], body
    assert str(sample_settings.data_dir) not in body["detail"], "server paths leak"
    assert requests.get(f"{live_server}/api/catalog", timeout=30).json() == before
    assert _leftovers(sample_settings, "bad_upload") == []


def test_missing_file_part_or_wrong_type(live_server: str, up: dict[str, str]) -> None:
    r = requests.post(f"{live_server}/api/rasters", files={"title": (None, "x")}, headers=up,
                      timeout=30)
    assert r.status_code == 400 and "no file" in r.json()["detail"], r.text
    r = requests.post(f"{live_server}/api/rasters", data={"title": "x"}, headers=up,
                      timeout=30)
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"], r.text


def test_interrupted_upload_leaves_nothing(live_server: str, sample_settings: Settings,
                                           tmp_path: Path, up: dict[str, str]) -> None:
    body = makers.write_scene(tmp_path / "scene.tif").read_bytes()
    host = urlsplit(live_server)
    with socket.create_connection((host.hostname, host.port), timeout=30) as s:
        s.sendall((f"POST /api/rasters?id=cut_upload HTTP/1.1\r\nHost: {host.netloc}\r\n"
                   "Content-Type: image/tiff\r\n"
                   f"Authorization: {up['Authorization']}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2])
        time.sleep(1.0)
    deadline = time.monotonic() + 10
    while _leftovers(sample_settings, "cut_upload") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leftovers(sample_settings, "cut_upload") == []
    assert requests.get(f"{live_server}/api/rasters/cut_upload", timeout=30).status_code == 404


def test_cancelled_job_registers_nothing(live_server: str, sample_settings: Settings,
                                         tmp_path: Path, up: dict[str, str]) -> None:
    big = makers.write_geotiff(tmp_path / "big.tif", dtype="float32", width=4000, height=3000)
    r = _upload(live_server, big, up, id="cancel_me")
    assert r.status_code == 202, r.text
    job_url = r.headers["Location"]
    cancel = requests.delete(job_url, headers=up, timeout=30)
    assert cancel.status_code == 200
    job = _wait(job_url, up)
    if job["status"] == "successful":  # finished before the cancel arrived: clean up, retry
        requests.delete(f"{live_server}/api/rasters/cancel_me", headers=up, timeout=30)
        pytest.fail("the conversion finished before it could be cancelled")
    assert job["status"] == "dismissed", job
    assert requests.get(f"{live_server}/api/rasters/cancel_me", timeout=30).status_code == 404
    assert _leftovers(sample_settings, "cancel_me") == []


def test_unknown_job_and_raster(live_server: str, up: dict[str, str]) -> None:
    assert requests.get(f"{live_server}/api/jobs/nope", headers=up, timeout=30
                        ).status_code == 404
    assert requests.delete(f"{live_server}/api/rasters/nope", headers=up, timeout=30
                           ).status_code == 404
    # a vector layer is not removable through the raster route
    assert requests.delete(f"{live_server}/api/rasters/red_lines", headers=up, timeout=30
                           ).status_code == 404


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[str, Path, dict[str, dict[str, str]]]]:
    """A server of its own with tight size limits (empty catalogue) and two accounts, an
    analyst and a viewer (headers by role)."""
    from onemap.access import accounts

    data = tmp_path_factory.mktemp("strict")
    settings = Settings(data_dir=data)
    heads = {}
    for role in ("analyst", "viewer"):
        accounts.add(settings, f"strict_{role}", roles=[role])
        _, key = accounts.create_key(settings, f"strict_{role}", "tests")
        heads[role] = {"Authorization": f"Bearer {key}"}
    with run_server(data, ONEMAP_MAX_UPLOAD_MB="1",
                    ONEMAP_MAX_RASTER_PIXELS="100000") as base:
        yield base, data, heads


def test_roles_and_limits(strict_server: tuple[str, Path, dict], tmp_path: Path) -> None:
    base, data, heads = strict_server
    small = makers.write_geotiff(tmp_path / "small.tif", width=200, height=200)
    r = _upload(base, small, {}, id="small")
    assert r.status_code == 401 and "login" in r.json()["detail"], r.text
    assert "Basic" in r.headers["www-authenticate"]
    r = _upload(base, small, heads["viewer"], id="small")
    assert r.status_code == 403 and "analyst" in r.json()["detail"], r.text
    auth = heads["analyst"]
    with open(small, "rb") as fh:
        r = requests.post(f"{base}/api/rasters", files={"file": ("small.tif", fh)},
                          data={"id": "small", "wait": "true"}, headers=auth, timeout=60)
    assert r.status_code == 201, r.text
    assert requests.delete(f"{base}/api/rasters/small", timeout=30).status_code == 401
    assert requests.delete(f"{base}/api/rasters/small", headers=heads["viewer"],
                           timeout=30).status_code == 403
    assert requests.delete(f"{base}/api/rasters/small", headers=auth,
                           timeout=30).status_code == 204
    wide = makers.write_geotiff(tmp_path / "wide.tif", width=500, height=400)  # 200k px
    with open(wide, "rb") as fh:
        r = requests.post(f"{base}/api/rasters", files={"file": ("wide.tif", fh)},
                          headers=auth, timeout=60)
    assert r.status_code == 413 and "ONEMAP_MAX_RASTER_PIXELS" in r.json()["detail"], r.text
    heavy = makers.write_geotiff(tmp_path / "heavy.tif", dtype="float32", width=300,
                                 height=1000)  # 1.2 MB
    with open(heavy, "rb") as fh:
        r = requests.post(f"{base}/api/rasters", files={"file": ("heavy.tif", fh)},
                          headers=auth, timeout=60)
    assert r.status_code == 413 and "ONEMAP_MAX_UPLOAD_MB" in r.json()["detail"], r.text
    uploads = data / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
    assert not (data / "rasters").exists() or list((data / "rasters").iterdir()) == []
