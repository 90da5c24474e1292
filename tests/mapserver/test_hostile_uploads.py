"""Hostile rasters uploaded to the real server: every GDAL trick that would read another file or
a URL is refused in words (4xx), registers nothing, leaves nothing, and leaks nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from onemap.config import Settings
from tests.conftest import Caller
from tests.raster import hostile

pytestmark = pytest.mark.server


def _post(base: str, path: Path, headers: dict[str, str], **fields: str) -> requests.Response:
    with open(path, "rb") as fh:
        return requests.post(f"{base}/api/rasters", files={"file": (path.name, fh, "image/tiff")},
                             data={"id": "hostile_upload", "wait": "true", **fields},
                             headers=headers, timeout=120)


@pytest.fixture(scope="module")
def up(callers: dict[str, Caller]) -> dict[str, str]:
    """Headers of the analyst account: uploading needs the role."""
    return callers["analyst"].headers


def _assert_refused(base: str, settings: Settings, path: Path, status: int, code: str,
                    words: str, up: dict[str, str]) -> None:
    before = requests.get(f"{base}/api/catalog", timeout=30).json()
    r = _post(base, path, up)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and words in body["detail"], body
    assert "ONEMAP-SECRET" not in r.text and str(settings.data_dir) not in r.text
    assert requests.get(f"{base}/api/catalog", timeout=30).json() == before
    assert requests.get(f"{base}/raster/hostile_upload/cog.tif", timeout=30).status_code == 404
    staged = list(settings.upload_dir.glob("*")) if settings.upload_dir.exists() else []
    assert staged == [] and list(settings.raster_dir.glob("*hostile_upload*")) == []


def test_vrt_over_a_local_file(live_server: str, sample_settings: Settings,
                               tmp_path: Path, up: dict[str, str]) -> None:
    vrt = hostile.raw_vrt(tmp_path / "scene.tif", hostile.write_secret(tmp_path / "passwd"))
    assert bytes(hostile.read_all(vrt)[0, 0]) == hostile.SECRET
    _assert_refused(live_server, sample_settings, vrt, 415, "UnsupportedFormat", "GDAL VRT", up)


def test_vrt_over_a_url(live_server: str, sample_settings: Settings, tmp_path: Path,
                        up: dict[str, str]) -> None:
    with hostile.web_server(tmp_path / "www") as (url, hits):
        vrt = hostile.source_vrt(tmp_path / "remote.tif", f"/vsicurl/{url}/secret.tif")
        _assert_refused(live_server, sample_settings, vrt, 415, "UnsupportedFormat", "GDAL VRT",
                        up)
        assert hits == [], "the server fetched the URL the upload named"


def test_vrt_over_a_zip_member(live_server: str, sample_settings: Settings,
                               tmp_path: Path, up: dict[str, str]) -> None:
    archive = hostile.zipped_tif(tmp_path / "bundle.zip")
    vrt = hostile.source_vrt(tmp_path / "zipped.tif", f"/vsizip/{archive}/inner.tif")
    _assert_refused(live_server, sample_settings, vrt, 415, "UnsupportedFormat", "GDAL VRT", up)
    _assert_refused(live_server, sample_settings, archive, 415, "UnsupportedFormat", "zip", up)


@pytest.mark.parametrize(("driver", "name", "upload", "status", "words"), [
    ("ENVI", "s.img", "s.hdr", 415, "ENVI header"), ("ENVI", "s.img", "s.img", 422, "not a TIFF"),
    ("PNM", "s.pgm", "s.pgm", 415, "PNM image"), ("AAIGrid", "s.asc", "s.asc", 415, "ASCII grid"),
])
def test_other_gdal_formats(live_server: str, sample_settings: Settings, tmp_path: Path,
                            driver: str, name: str, upload: str, status: int,
                            words: str, up: dict[str, str]) -> None:
    hostile.other_format(tmp_path / name, driver)
    code = "UnsupportedFormat" if status == 415 else "InvalidRaster"
    _assert_refused(live_server, sample_settings, tmp_path / upload, status, code, words, up)


def test_huge_header_is_too_large(live_server: str, sample_settings: Settings,
                                  tmp_path: Path, up: dict[str, str]) -> None:
    tif = hostile.huge_header(tmp_path / "huge.tif")
    _assert_refused(live_server, sample_settings, tif, 413, "RasterTooLarge",
                    "ONEMAP_MAX_RASTER_PIXELS", up)
