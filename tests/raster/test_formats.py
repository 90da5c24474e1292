"""Rasters in are rasters, not references: every known GDAL trick is refused by the one check
both ``onemap raster add`` and uploads use, with real files made by real GDAL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.raster.ingest import add_raster
from onemap.raster.validate import (
    RasterTooLarge,
    UnsupportedRasterFormat,
    check_source,
    open_source,
    safe_env,
)
from tests.raster import hostile


@pytest.fixture()
def web(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    with hostile.web_server(tmp_path / "www") as served:
        yield served


def _refused(src: Path, settings: Settings, error: type[Exception] = UnsupportedRasterFormat,
             words: str = "unsupported raster format") -> str:
    with pytest.raises(error, match=words) as info:
        add_raster(src, dataset_id="evil", title="evil", settings=settings)
    assert src.name in str(info.value)
    assert "evil" not in catalog.load(settings)
    leftovers = list(settings.raster_dir.glob("*")) if settings.raster_dir.exists() else []
    assert leftovers == []
    return str(info.value)


def test_vrt_over_a_local_file(tmp_path: Path) -> None:
    secret = hostile.write_secret(tmp_path / "passwd")
    vrt = hostile.raw_vrt(tmp_path / "scene.tif", secret)
    assert bytes(hostile.read_all(vrt)[0, 0]) == hostile.SECRET  # plain GDAL follows it
    message = _refused(vrt, Settings(data_dir=tmp_path / "data"), words="GDAL VRT")
    assert "ONEMAP-SECRET" not in message


def test_vrt_over_a_url(tmp_path: Path, web: tuple[str, list[str]]) -> None:
    url, hits = web
    vrt = hostile.source_vrt(tmp_path / "remote.tif", f"/vsicurl/{url}/secret.tif")
    assert hostile.read_all(vrt).shape == (1, 64, 64) and hits  # plain GDAL fetches it
    hits.clear()
    _refused(vrt, Settings(data_dir=tmp_path / "data"), words="GDAL VRT")
    assert hits == [], "a request the file asked for was made"


def test_vrt_over_a_zip_member(tmp_path: Path) -> None:
    archive = hostile.zipped_tif(tmp_path / "bundle.zip")
    vrt = hostile.source_vrt(tmp_path / "zipped.tif", f"/vsizip/{archive}/inner.tif")
    assert hostile.read_all(vrt).shape == (1, 64, 64)
    _refused(vrt, Settings(data_dir=tmp_path / "data"), words="GDAL VRT")
    _refused(archive, Settings(data_dir=tmp_path / "data"), words="zip archive")


@pytest.mark.parametrize(("driver", "name", "words"), [
    ("ENVI", "scene.hdr", "ENVI header"), ("PNM", "scene.pgm", "PNM image"),
    ("AAIGrid", "scene.asc", "ASCII grid"),
])
def test_other_gdal_formats(tmp_path: Path, driver: str, name: str, words: str) -> None:
    made = hostile.other_format(tmp_path / (name if driver != "ENVI" else "scene.img"), driver)
    assert hostile.read_all(made).shape == (1, 64, 64)
    _refused(tmp_path / name, Settings(data_dir=tmp_path / "data"), words=words)
    if driver == "ENVI":  # the raw pixel file, whose meaning lives in the .hdr beside it
        _refused(made, Settings(data_dir=tmp_path / "data"), error=ValueError,
                 words="not a TIFF")


def test_tiff_named_otherwise_but_not_a_tiff_driver(tmp_path: Path) -> None:
    """TIFF magic bytes in front of a VRT: GDAL is still held to its GTiff driver."""
    secret = hostile.write_secret(tmp_path / "passwd")
    vrt = hostile.raw_vrt(tmp_path / "x.vrt", secret)
    faked = tmp_path / "faked.tif"
    faked.write_bytes(b"II*\x00" + vrt.read_bytes())
    with pytest.raises(ValueError) as info:
        add_raster(faked, dataset_id="evil", title="evil",
                   settings=Settings(data_dir=tmp_path / "data"))
    assert "ONEMAP-SECRET" not in str(info.value)


def test_sidecar_georeferencing_is_not_read(tmp_path: Path) -> None:
    tif = hostile.baseline_tif(tmp_path / "baseline.tif")
    import rasterio

    with rasterio.open(tif) as src:  # plain GDAL takes the CRS and transform from the sidecars
        assert src.crs is not None and not src.transform.is_identity
    message = _refused(tif, Settings(data_dir=tmp_path / "data"), error=ValueError,
                       words="no coordinate reference system")
    assert "baseline.tif.aux.xml" in message and "baseline.tfw" in message


def test_external_overviews_are_not_read(tmp_path: Path) -> None:
    tif = hostile.tif_with_ovr(tmp_path / "with_ovr.tif")
    import rasterio

    with rasterio.open(tif) as src:
        assert src.overviews(1) == [2, 4]
    with safe_env(), open_source(tif) as src:
        assert src.overviews(1) == []
    settings = Settings(data_dir=tmp_path / "data")
    # the TIFF itself is self-contained: it is accepted, converted from its own pixels
    entry = add_raster(tif, dataset_id="with_ovr", title="ovr", settings=settings)
    with rasterio.open(entry.file(settings)) as cog, rasterio.open(tif) as src:
        assert np.array_equal(cog.read(1), src.read(1))


def test_huge_header_is_too_large_not_truncated(tmp_path: Path) -> None:
    tif = hostile.huge_header(tmp_path / "huge.tif")
    assert tif.stat().st_size < 1_000_000
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(RasterTooLarge, match="10,000,000,000 pixels") as info:
        check_source(tif, settings)
    assert "truncated" not in str(info.value)
    _refused(tif, settings, error=RasterTooLarge, words="ONEMAP_MAX_RASTER_PIXELS")
